"""Caption decoding shared by both courses' captioning helpers (CS231n `coco_utils`, EECS
`a4_helper`): given code in both, so it lives here once and the course modules re-export it."""
import numpy as np


def decode_captions(captions, idx_to_word):
    """Word ids -> strings. captions: (N, T) or (T,) ids (numpy array, list or torch tensor);
    returns a list of N strings (or one string). <NULL> words are dropped and decoding stops
    after <END>."""
    if hasattr(captions, "detach"):  # a torch tensor, possibly on the GPU or requiring grad
        captions = captions.detach().cpu().numpy()
    captions = np.asarray(captions)
    singleton = captions.ndim == 1
    if singleton:
        captions = captions[None]
    if captions.ndim != 2:
        raise ValueError(f"captions must have shape (N, T) or (T,), got {captions.shape}")
    V = len(idx_to_word)
    if captions.size and (captions.min() < 0 or captions.max() >= V):
        raise ValueError(f"caption ids must lie in [0, {V}), got values in "
                         f"[{captions.min()}, {captions.max()}]")
    decoded = []
    for row in captions:
        words = []
        for idx in row:
            word = idx_to_word[int(idx)]
            if word != "<NULL>":
                words.append(word)
            if word == "<END>":
                break
        decoded.append(" ".join(words))
    return decoded[0] if singleton else decoded
