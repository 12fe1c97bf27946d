"""CS231n 2025 assignment 3, DDPM.ipynb: the official notebook's own checks, replayed on our
modules (fixed inputs, seeds and hard-coded expected values are the course's).

The course's bounds: q_sample "zero relative error" (its notebook prints 0.0); the inverses
"around 1e-5 or less"; Unet.forward "less than 1e-5" (the published solution notebook prints
1.0457871052053018e-05 for it: the expected values are printed with 8 significant digits, so
rounding alone reaches ~1e-5 on small elements; we allow 1e-4, which still tells a correct
network from a wrong one, whose errors are near 1); p_losses "less than 1e-6"; p_sample "less
than 1e-6"; cfg "less than 1e-6", where this machine's float32 convolutions give 1.5e-5 (the
published solution's own code gives the same 1.4987657e-05 here: element -0.01185328 comes out
-0.011853635), so the U-Net-output bound 1e-4 is used for it too. The layer-count, dimension
and parameter-count checks are exact.

Dropout: the Unet checks run in training mode (dropout 0.1 in every ResnetBlock), so their
expected values contain the course's dropout masks, which current PyTorch no longer draws;
`course_dropout()` replays the course's rule (see dl4cv/course_rng.py).
"""
import numpy as np
import torch

from dl4cv.course_rng import course_dropout
from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"
UNET_BOUND = 1e-4      # course: < 1e-5 (forward), < 1e-6 (cfg); see above


def rel_error(x, y):
    """The notebook's relative error."""
    return np.max(np.abs(x - y) / (np.maximum(1e-10, np.abs(x) + np.abs(y))))


def GaussianDiffusion(*args, **kwargs):
    return course_module(A3, "cs231n.gaussian_diffusion").GaussianDiffusion(*args, **kwargs)


def Unet(*args, **kwargs):
    return course_module(A3, "cs231n.unet").Unet(*args, **kwargs)


def test_q_sample_course_values():
    sz, b = 2, 3
    diffusion = GaussianDiffusion(model=None, image_size=sz, timesteps=1000, beta_schedule="sigmoid")
    t = torch.tensor([0, 300, 999]).long()
    x_start = torch.linspace(-0.9, 0.6, b * 3 * sz * sz).view(b, 3, sz, sz)
    noise = torch.linspace(-0.7, 0.8, b * 3 * sz * sz).view(b, 3, sz, sz)
    x_t = diffusion.q_sample(x_start, t, noise)
    expected_x_t = np.array([
        [[[-0.9119949, -0.86840147], [-0.8248081, -0.7812148]],
         [[-0.7376214, -0.694028], [-0.65043473, -0.6068413]],
         [[-0.563248, -0.51965463], [-0.47606122, -0.43246788]]],
        [[[-0.42800453, -0.37039882], [-0.31279305, -0.2551873]],
         [[-0.19758154, -0.1399758], [-0.08237009, -0.024764337]],
         [[0.032841414, 0.090447165], [0.14805292, 0.20565866]]],
        [[[0.32864183, 0.37152246], [0.41440308, 0.45728368]],
         [[0.50016433, 0.5430449], [0.5859255, 0.6288062]],
         [[0.67168677, 0.7145674], [0.757448, 0.8003287]]],
    ]).astype(np.float32)
    # the course expects zero; float32 printing leaves < 1e-7
    assert rel_error(x_t.numpy(), expected_x_t) < 1e-7


def test_noise_and_start_inverses_course_check():
    sz, b = 2, 3
    diffusion = GaussianDiffusion(model=None, image_size=sz, timesteps=1000, beta_schedule="sigmoid")
    t = torch.tensor([1, 300, 998]).long()
    x_start = torch.linspace(-0.91, 0.67, b * 3 * sz * sz).view(b, 3, sz, sz)
    noise = torch.linspace(-0.73, 0.81, b * 3 * sz * sz).view(b, 3, sz, sz)
    x_t = diffusion.q_sample(x_start, t, noise)
    pred_noise = diffusion.predict_noise_from_start(x_t, t, x_start)
    pred_x_start = diffusion.predict_start_from_noise(x_t, t, noise)
    assert rel_error(pred_noise.numpy(), noise.numpy()) < 1e-5
    assert rel_error(pred_x_start.numpy(), x_start.numpy()) < 1e-5


def test_unet_layers_course_check():
    dim, condition_dim, dim_mults = 2, 4, (1, 2, 4)
    unet = Unet(dim=dim, condition_dim=condition_dim, dim_mults=dim_mults)
    assert len(unet.downs) == len(dim_mults)
    assert len(unet.ups) == len(dim_mults)
    expected_downs_dims = [2, 2, 8, 2, 2, 8, 2, 2, 8, 2, 2, 8, 4, 4, 8, 4, 4, 8]
    downs_dims = [d for m in unet.downs for d in [m[0].dim, m[0].dim_out, m[0].context_dim,
                                                  m[1].dim, m[1].dim_out, m[1].context_dim]]
    assert downs_dims == expected_downs_dims
    expected_ups_dims = [8, 4, 8, 8, 4, 8, 4, 2, 8, 4, 2, 8, 4, 2, 8, 4, 2, 8]
    ups_dims = [d for m in unet.ups for d in [m[1].dim, m[1].dim_out, m[1].context_dim,
                                              m[2].dim, m[2].dim_out, m[2].context_dim]]
    assert ups_dims == expected_ups_dims
    assert sum(p.numel() for p in unet.parameters()) == 6499


EXPECTED_FORWARD = np.array(
    [[[[0.14615417, 0.36610782, 0.27948245, 0.2229169],
       [1.0268314, -0.04441035, 0.33097324, 0.21493062],
       [0.15944722, 1.1060286, 0.36489075, 0.39395577],
       [0.5593624, 0.95084137, 0.46409354, -0.15076232]],
      [[0.07152754, -0.19067341, 0.36995906, 0.1898715],
       [0.18764025, -0.37758452, 0.22994985, 0.14644745],
       [0.39364466, 0.42091975, 0.75438905, -0.17806],
       [0.0934296, 0.44165182, 0.2768886, 0.19760622]],
      [[0.39873862, 0.86417544, 0.707601, 0.5136454],
       [0.8151177, 0.01816908, 0.64427924, 0.45256743],
       [0.6901425, 1.0449984, 0.8272561, 0.38516602],
       [0.48775655, 0.91759497, 0.56286275, 0.38452417]]],
     [[[0.31076878, 0.25998223, 0.35973004, -0.01464513],
       [0.37456402, 0.10733554, 1.1211727, 0.596719],
       [-0.19628221, 0.49115434, 0.5591996, -0.02811927],
       [0.2980889, 0.7983323, 0.31545636, 0.1045265]],
      [[-0.21484727, -0.11434001, 0.01019827, -0.07907221],
       [-0.14186645, 0.2666731, 0.36379665, 0.25780094],
       [0.6618308, 0.09432775, 0.3441353, 0.11780772],
       [0.3818162, 0.54577625, 0.15127666, 0.2136025]],
      [[0.23299581, 0.51728034, 0.5330554, 0.30019608],
       [0.34902877, 0.29055628, 1.1447697, 0.5087651],
       [0.7447357, 0.4974355, 0.564866, 0.4631402],
       [0.6024195, 0.8882342, 0.46354175, 0.4344969]]]])

EXPECTED_CFG = np.array(
    [[[[-0.07755187, 0.39913225, -0.616872, 0.16161466],
       [0.76309466, -0.64505696, 1.1228579, 0.1429432],
       [-0.58470994, 1.5556629, 0.19990933, 0.6726817],
       [0.34811258, 1.6286248, -0.57835865, -0.3712303]],
      [[-0.2780811, 0.09640026, 0.80653083, 0.3257922],
       [0.49113247, -1.2000966, 0.9383536, 0.10577369],
       [0.5326107, 0.38000846, 0.90770614, 0.08911347],
       [-0.2537056, 0.6668851, -0.16009146, 0.4560123]],
      [[-0.03857625, 1.2413033, 0.89891887, 0.22149336],
       [0.9030682, -1.0636187, 1.2424004, 0.56415176],
       [0.6789831, 1.367657, 0.84504557, 0.5781751],
       [0.10814822, 1.3854939, -0.33456588, 0.34210002]]],
     [[[0.17439526, -0.01185328, 0.39814878, 0.2655859],
       [0.1156677, -0.29466197, 4.5019875, 0.90760195],
       [-0.7210121, 0.32611835, 1.262263, -0.46243155],
       [0.05207008, 1.3481442, 0.06369245, 0.46200275]],
      [[-0.24512854, -0.08326203, 0.04366357, -0.86336297],
       [-0.9094473, 0.36758858, 0.5417196, 0.33162278],
       [1.233382, 0.4753497, 1.0248462, -0.1512323],
       [0.40446353, 0.77949953, -0.48068368, 0.92509973]],
      [[0.22089547, 0.43676746, 0.31286478, 0.273731],
       [-0.34253466, -0.18519384, 2.603891, 0.6012087],
       [1.2847279, 0.8032987, 1.0297089, 0.52087414],
       [0.5678704, 1.1869694, 0.09395003, 0.90305966]]]])


def run_unet_check(model_kwargs_extra):
    with course_dropout():
        np.random.seed(231)
        torch.manual_seed(231)
        unet = Unet(dim=4, condition_dim=4, dim_mults=(2, 4))
        inp_x = torch.randn(2, 3, 4, 4)
        inp_text_emb = torch.randn(2, 4)
        inp_t = torch.tensor([8, 25]).long()
        return unet.forward(x=inp_x, time=inp_t,
                            model_kwargs={"text_emb": inp_text_emb, **model_kwargs_extra}).detach().numpy()


def test_unet_forward_course_values():
    assert rel_error(run_unet_check({}), EXPECTED_FORWARD) < UNET_BOUND


def test_cfg_forward_course_values():
    assert rel_error(run_unet_check({"cfg_scale": 2.31}), EXPECTED_CFG) < UNET_BOUND   # course: 1e-6


def test_p_losses_course_anchor():
    with course_dropout():
        np.random.seed(231)
        torch.manual_seed(231)
        unet = Unet(dim=4, condition_dim=4, dim_mults=(2, 4))
        diffusion = GaussianDiffusion(model=unet, image_size=4, timesteps=1000,
                                      beta_schedule="sigmoid", objective="pred_x_start")
        inp_x = torch.randn(3, 3, 4, 4)
        inp_model_kwargs = {"text_emb": torch.randn(3, 4)}
        out = diffusion.p_losses(inp_x, inp_model_kwargs)
    assert rel_error(out.item(), 30.0732689) < 1e-6


EXPECTED_P_SAMPLE_1 = np.array(
    [[[[1.1339471, 0.12097352, -0.7175048, 1.3196243],
       [-0.27657282, 0.4899886, 1.0170169, -0.8242867],
       [-0.18946372, 0.9899801, 0.01498353, 0.39722288],
       [-0.97995025, -0.5947938, -0.07796463, -0.07311387]],
      [[0.0739838, -1.5537696, 0.43128064, -0.7395982],
       [-1.0517508, -1.7030833, 0.79073197, -1.217138],
       [-0.5314434, 0.9862699, 0.6568664, -0.4559122],
       [-0.17322278, 0.51251256, -0.75741345, -0.3967054]],
      [[0.8546979, 1.6186953, 1.9930652, 0.57347],
       [0.20219846, 0.5374655, -0.81597316, 1.9089762],
       [0.7327057, 1.19275, 1.8593936, -1.4582647],
       [0.68447256, -0.9056745, 0.7863245, 0.14455058]]]])

EXPECTED_P_SAMPLE_2 = np.array(
    [[[[1.1036711, 0.08143333, -0.6856102, 1.3826138],
       [-0.25455472, 0.514572, 1.104592, -0.75972646],
       [-0.22729763, 0.9837706, 0.05891411, 0.52049375],
       [-1.0331786, -0.5416254, -0.01623197, -0.04838388]],
      [[0.08324978, -1.545468, 0.41357145, -0.63511896],
       [-1.1362139, -1.7128816, 0.8694859, -1.2297069],
       [-0.49168122, 1.0043695, 0.6759953, -0.5297671],
       [-0.10931232, 0.52347076, -0.80946106, -0.5015002]],
      [[0.7437265, 1.590004, 1.9481117, 0.5656144],
       [0.22895451, 0.5289113, -0.8511001, 1.8864397],
       [0.72863096, 1.2271638, 1.892699, -1.5199479],
       [0.64346373, -0.86913294, 0.7869012, 0.12637165]]]])


def test_p_sample_course_values():
    with course_dropout():
        np.random.seed(231)
        torch.manual_seed(231)
        unet = Unet(dim=4, condition_dim=4, dim_mults=(2,))
        inp_x_t = torch.randn(1, 3, 4, 4)
        inp_model_kwargs = {"text_emb": torch.randn(1, 4)}
        t = 231
        diffusion = GaussianDiffusion(model=unet, image_size=4, timesteps=1000,
                                      beta_schedule="sigmoid", objective="pred_x_start")
        out1 = diffusion.p_sample(inp_x_t, t, inp_model_kwargs).detach().numpy()
        diffusion = GaussianDiffusion(model=unet, image_size=4, timesteps=1000,
                                      beta_schedule="cosine", objective="pred_noise")
        out2 = diffusion.p_sample(inp_x_t, t, inp_model_kwargs).detach().numpy()
    assert rel_error(out1, EXPECTED_P_SAMPLE_1) < 1e-6
    assert rel_error(out2, EXPECTED_P_SAMPLE_2) < 1e-6


def test_course_model_size():
    """The course's pretrained model: Unet(dim=48, dim_mults=(1, 2, 4, 8), condition_dim=512)
    has 12,444,963 parameters (printed by the notebook)."""
    unet = Unet(dim=48, condition_dim=512, dim_mults=(1, 2, 4, 8))
    assert sum(p.numel() for p in unet.parameters()) == 12444963
