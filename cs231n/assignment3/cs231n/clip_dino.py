"""CLIP and DINO: zero-shot classification and retrieval with a joint image-text embedding,
then one-shot video segmentation from self-supervised ViT patch features.

You complete `get_similarity_no_loop`, `clip_zero_shot_classifier`, `CLIPImageRetriever`
and `DINOSegmentation`. `tokenize`, `DavisDataset`, `create_segmentation_overlay` and
`compute_iou` are given.

The optional packages of the real models are imported only where they are used, so that this
file imports without them; a missing one raises ImportError naming its install command
(dl4cv.optional): `clip` (OpenAI CLIP), `tensorflow_datasets` (DAVIS) and `cv2` (mask resizing
as the course does it).

Differences from the course's file (2025 edition):
- text is tokenized with `tokenize(clip_model, texts)`, which calls `clip.tokenize` for the
  real CLIP and the model's own tokenizer for the project's small stand-in;
- `DavisDataset` also reads a clip in the same layout from a Python sequence (the project's
  synthetic stand-in), and its image size and patch size are parameters (the course: 480 and 8,
  a 60 x 60 grid of patch features).
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from PIL import Image

from dl4cv.optional import available, require


def tokenize(clip_model, texts):
    """Token ids of `texts` (a list of str) for `clip_model`'s text encoder, on the CPU.

    The real CLIP model uses `clip.tokenize` (BPE, 77 tokens); a model with its own `tokenize`
    method (the project's stand-in) uses that. Returns a LongTensor (len(texts), context).
    """
    own = getattr(clip_model, "tokenize", None)
    if callable(own):
        return own(texts)
    return require("clip").tokenize(texts)


def get_similarity_no_loop(text_features, image_features):
    """Cosine similarity of every text feature with every image feature, without loops.

    Inputs:
    - text_features: (N, D) tensor.
    - image_features: (M, D) tensor.

    Returns:
    - similarity: (N, M) tensor; entry (i, j) is the cosine similarity of text_features[i]
      and image_features[j].
    """
    similarity = None
    # TODO: compute the (N, M) matrix of cosine similarities without Python loops.
    # *****START OF YOUR CODE*****
    # Scale every row to unit length; then one matrix product gives all the cosines.
    text_unit = text_features / text_features.norm(dim=1, keepdim=True)
    image_unit = image_features / image_features.norm(dim=1, keepdim=True)
    similarity = text_unit @ image_unit.t()
    # *****END OF YOUR CODE*****
    return similarity


@torch.no_grad()
def clip_zero_shot_classifier(clip_model, clip_preprocess, images,
                              class_texts, device):
    """Zero-shot classification: each image gets the class text its features are most
    similar to.

    Inputs:
    - clip_model: the CLIP model (`encode_image`, `encode_text`).
    - clip_preprocess: callable, PIL image -> (3, H, W) tensor the image encoder takes.
    - images: list of (H, W, 3) uint8 numpy arrays.
    - class_texts: list of C class descriptions (str).
    - device: where to run the model; move the text tokens there before encoding them.

    Returns:
    - pred_classes: list of len(images) strings, each one of class_texts.
    """
    pred_classes = []
    # TODO: encode the class texts (tokenize(clip_model, class_texts)) and the preprocessed
    # images, and pick for every image the class text with the highest cosine similarity.
    # *****START OF YOUR CODE*****
    tokens = tokenize(clip_model, class_texts).to(device)
    text_features = clip_model.encode_text(tokens)                              # (C, D)
    batch = torch.stack([clip_preprocess(Image.fromarray(img)) for img in images]).to(device)
    image_features = clip_model.encode_image(batch)                             # (N, D)
    # similarity (C, N): the best text for image n is the argmax of column n
    best = get_similarity_no_loop(text_features.float(), image_features.float()).argmax(dim=0)
    pred_classes = [class_texts[i] for i in best.tolist()]
    # *****END OF YOUR CODE*****
    return pred_classes


class CLIPImageRetriever:
    """Text-to-image retrieval over a fixed set of images with CLIP."""

    @torch.no_grad()
    def __init__(self, clip_model, clip_preprocess, images, device):
        """
        Inputs:
        - clip_model: the CLIP model.
        - clip_preprocess: callable, PIL image -> (3, H, W) tensor.
        - images: list of (H, W, 3) uint8 numpy arrays, the images to search.
        - device: where to run the model.
        """
        # TODO: keep what `retrieve` needs. Encode all the images once, here, so that each
        # query costs only one text encoding.
        # *****START OF YOUR CODE*****
        self.clip_model = clip_model
        self.device = device
        batch = torch.stack([clip_preprocess(Image.fromarray(img)) for img in images]).to(device)
        features = clip_model.encode_image(batch).float()
        # stored at unit length: a query's cosines are then one matrix-vector product
        self.image_features = features / features.norm(dim=1, keepdim=True)    # (M, D)
        # *****END OF YOUR CODE*****

    @torch.no_grad()
    def retrieve(self, query: str, k: int = 2):
        """Indices of the k images most similar to the text `query`.

        Inputs:
        - query: str.
        - k: how many images to return.

        Returns:
        - top_indices: list of k ints, the most similar image first.
        """
        top_indices = []
        # TODO: encode the query and return the indices of its k most similar images
        # (torch.Tensor.topk helps).
        # *****START OF YOUR CODE*****
        tokens = tokenize(self.clip_model, [query]).to(self.device)
        text = self.clip_model.encode_text(tokens).float()[0]                   # (D,)
        scores = self.image_features @ (text / text.norm())                     # (M,)
        top_indices = scores.topk(k).indices.tolist()
        # *****END OF YOUR CODE*****
        return top_indices


class DavisDataset:
    """DAVIS 2017 validation videos (tensorflow_datasets `davis/480p`), and the conversions
    between frames / masks and the per-patch inputs / labels of a DINO ViT.

    `videos`: None reads DAVIS through tensorflow_datasets (downloaded on first use, ~5
    minutes). Otherwise a sequence of dicts in the same layout (the project's synthetic
    stand-in): video['video']['frames'] (T, H, W, 3) uint8, video['video']['segmentations']
    (T, H, W, 1) uint8 (0 = background, 1.. = objects), video['metadata']['video_name'] bytes.
    Frames are resized to img_size x img_size; a ViT with patch_size patches then gives a
    grid of (img_size // patch_size)^2 patch features (the course: 60 x 60).
    """

    def __init__(self, videos=None, img_size=480, patch_size=8):
        from torchvision import transforms as T
        if videos is None:
            tfds = require("tensorflow_datasets")
            videos = tfds.load('davis/480p', split='validation', as_supervised=False)
            self._as_numpy = tfds.as_numpy
        else:
            self._as_numpy = iter
        self.davis = videos
        self.img_size, self.patch_size = img_size, patch_size
        self.grid = img_size // patch_size
        self.img_tsfm = T.Compose([
            T.Resize((img_size, img_size)), T.ToTensor(),
            T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ])

    def get_sample(self, index):
        """-> (frames (T, H, W, 3) uint8, masks (T, H, W, 1) uint8) of video `index`."""
        assert index < len(self.davis)
        it = iter(self._as_numpy(self.davis))
        for _ in range(index + 1):
            video = next(it)
        frames, masks = video['video']['frames'], video['video']['segmentations']
        print(f"video {video['metadata']['video_name'].decode()}  {len(frames)} frames")
        return frames, masks

    def process_frames(self, frames, dino_model, device):
        """(T, H, W, 3) uint8 frames -> (T, grid*grid, D) patch features of the last block."""
        out = []
        for f in frames:
            x = self.img_tsfm(Image.fromarray(f))[None].to(device)
            with torch.no_grad():
                tokens = dino_model.get_intermediate_layers(x, n=1)[0]    # (1, 1 + P, D)
            out.append(tokens[0, 1:])                                     # drop [CLS]
        return torch.stack(out)

    def _resize_mask(self, m):
        m = np.asarray(m)
        m2 = m[..., 0] if m.ndim == 3 else m
        if available("cv2"):
            cv2 = require("cv2")
            # as the course does it (its third argument is cv2's `dst`: bilinear resizing)
            return cv2.resize(m2, (self.grid, self.grid), cv2.INTER_NEAREST)
        return np.asarray(Image.fromarray(m2.astype(np.uint8)).resize(
            (self.grid, self.grid), Image.NEAREST))

    def process_masks(self, masks, device):
        """(T, H, W, 1) masks -> (T, grid*grid) long class ids, one per patch."""
        out = [torch.from_numpy(np.array(self._resize_mask(m))).long().flatten(-2, -1)
               for m in masks]
        return torch.stack(out).to(device)

    def mask_frame_overlay(self, processed_mask, frame):
        """(grid*grid,) class ids and an (H, W, 3) frame -> (H, W, 3) uint8 overlay."""
        H, W = frame.shape[:2]
        mask = processed_mask.detach().cpu().numpy().reshape(self.grid, self.grid)
        mask = np.asarray(Image.fromarray(mask.astype(np.uint8)).resize((W, H), Image.NEAREST))
        return create_segmentation_overlay(mask, frame.copy())


def create_segmentation_overlay(segmentation_mask, image, alpha=0.5):
    """Blend a colour per class over an RGB image.

    Inputs:
    - segmentation_mask: (H, W) int array of class ids (< 10).
    - image: (H, W, 3) uint8 array.
    - alpha: weight of the colours (0: only the image, 1: only the colours).

    Returns:
    - (H, W, 3) uint8 array.
    """
    assert segmentation_mask.shape[:2] == image.shape[:2], "Segmentation and image size mismatch"
    assert image.dtype == np.uint8, "Image must be of type uint8"
    # the course's fixed colours: seed 42's first draws (without touching the global seed)
    colors = np.random.RandomState(42).randint(0, 256, size=(10, 3), dtype=np.uint8)
    seg_color = colors[segmentation_mask]
    blend = image.astype(np.float64) * (1 - alpha) + seg_color.astype(np.float64) * alpha
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def compute_iou(pred, gt, num_classes):
    """Mean over classes 0..num_classes-1 of |pred == c and gt == c| / |pred == c or gt == c|
    (a class absent from both counts as 0)."""
    iou = 0
    for c in range(num_classes):
        p, g = pred == c, gt == c
        iou += (p & g).sum() / ((p | g).sum() + 1e-8)
    return iou / num_classes


class DINOSegmentation:
    """A small classifier of DINO patch features into segmentation classes."""

    def __init__(self, device, num_classes: int, inp_dim: int = 384):
        """
        Inputs:
        - device: where the model runs (CPU or CUDA).
        - num_classes: number of segmentation classes (background included).
        - inp_dim: dimension D of the DINO patch features (ViT-S: 384).
        """
        # TODO: build a very light model (a linear layer or a two-layer MLP) that maps one
        # (inp_dim,) feature vector to num_classes scores, with its optimizer (weight decay
        # keeps it from overfitting the one training frame) and its loss.
        # *****START OF YOUR CODE*****
        self.device = device
        # One linear layer: with a single annotated frame, capacity is the enemy.
        self.model = nn.Linear(inp_dim, num_classes).to(device)
        self.optimizer = optim.AdamW(self.model.parameters(), lr=1e-2, weight_decay=1e-2)
        self.criterion = nn.CrossEntropyLoss()
        # *****END OF YOUR CODE*****

    def train(self, X_train, Y_train, num_iters=500):
        """Fit the model on the patch features of the annotated frame(s).

        Inputs:
        - X_train: (N, D) feature vectors.
        - Y_train: (N,) class ids.
        - num_iters: number of optimizer steps.
        """
        # TODO: run num_iters optimization steps (the whole of X_train is one batch).
        # *****START OF YOUR CODE*****
        X, Y = X_train.to(self.device).float(), Y_train.to(self.device).long()
        # standardize with the training statistics (kept for inference): one learning rate
        # then suits features of any scale
        self.mean, self.std = X.mean(0, keepdim=True), X.std(0, keepdim=True) + 1e-6
        X = (X - self.mean) / self.std
        self.model.train()
        for it in range(num_iters):
            loss = self.criterion(self.model(X), Y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if it == 0 or (it + 1) % 100 == 0:
                print(f"Iter {it + 1}/{num_iters}, Loss: {loss.item():.4f}")
        # *****END OF YOUR CODE*****

    @torch.no_grad()
    def inference(self, X_test):
        """Class ids of feature vectors.

        Inputs:
        - X_test: (N, D) feature vectors.

        Returns:
        - pred_classes: (N,) long tensor.
        """
        pred_classes = None
        # TODO: predict the class of every feature vector.
        # *****START OF YOUR CODE*****
        self.model.eval()
        X = (X_test.to(self.device).float() - self.mean) / self.std
        pred_classes = self.model(X).argmax(dim=1)
        # *****END OF YOUR CODE*****
        return pred_classes
