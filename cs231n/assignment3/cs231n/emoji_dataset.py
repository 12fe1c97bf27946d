"""The emoji data set of CS231n 2025 assignment 3 (DDPM.ipynb; given code).

Files (the course's format):
- `emoji_data.npz`: one entry per emoji, each a 0-d object array holding a dict
  {"images": sequence of (H, W, 3) uint8 images, "texts": list of captions};
- `text_embeddings.pt`: a torch.save dict {"idx_mapping": {caption: row}, "embs": (n, 512)
  CLIP ViT-B/32 text embeddings of the captions, "pca_components": (k, 512), "mean": (512,)}.

The course reads them from `cs231n/datasets/`; here that folder is looked in first, then
`data/cs231n_emoji/` (where `./get_datasets.sh cs231n-a3-ddpm` puts them). A notebook can also
pass the paths (e.g. those of the project's stand-in, `dl4cv.standins.emoji`).

`dataset[i]` -> (image (3, image_size, image_size) float in [0, 1],
                 {"text_emb": (512,) or (num_text_emb_pca,), "text": str}),
one of the entry's images and one of its captions chosen at random (np.random).

`clip` (for embedding new text) and `joblib` (text paraphrases) are imported only where used.
"""
import os

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T
from tqdm.auto import tqdm

from dl4cv.errors import DataMissingError
from dl4cv.optional import require
from dl4cv.paths import data_dir

DATA_SUBDIR = "cs231n_emoji"     # under the data folder (get_datasets.sh)


def find_emoji_file(name, given=None):
    """Path of the data file `name`: `given` if it exists, else the course's folder
    (cs231n/datasets/), else data/cs231n_emoji/. Raises DataMissingError when none has it."""
    candidates = ([given] if given else []) + [
        os.path.join(os.path.dirname(__file__), "datasets", name),
        str(data_dir() / DATA_SUBDIR / name),
    ]
    for path in candidates:
        if os.path.exists(path):
            return path
    raise DataMissingError(f"emoji data file {name}", "cs231n-a3-ddpm", " or ".join(candidates))


def get_text_augs():
    """{caption: [paraphrases]} from datasets/paraphrases_dict.pkl (unused by the notebook)."""
    paraphrases = require("joblib").load(os.path.join(os.path.dirname(__file__), "datasets/paraphrases_dict.pkl"))
    augs = {}
    for text, para in tqdm(paraphrases.items()):
        augs[text] = [p.strip().split("\n")[-1] for p in para.split(",")]
    return augs


class ClipEmbed:
    """CLIP ViT-B/32 text encoder: .embed(text) -> (512,) embedding on the CPU."""

    def __init__(self, device):
        clip = require("clip")
        self.clip = clip
        self.model, self.preprocess = clip.load("ViT-B/32", device=device)
        self.model = self.model.eval()
        self.device = device

    def embed(self, text):
        with torch.inference_mode():
            tokens = self.clip.tokenize(text).to(self.device)
            return self.model.encode_text(tokens)[0].cpu()


class TextEmbedder:
    """The pre-computed caption embeddings (text_embeddings.pt) and their PCA."""

    def __init__(self):
        self.loaded = None

    def load_processed(self, data_path):
        self.loaded = torch.load(data_path)

    def save_processed(self, all_texts, path):
        """Embed every distinct caption with CLIP (on a GPU), add the PCA of the embeddings,
        save in the format of text_embeddings.pt."""
        assert not os.path.exists(path)
        embedder = ClipEmbed(device="cuda")
        texts = list(set(all_texts))
        idx_mapping = {text: i for i, text in enumerate(texts)}
        embs = torch.stack([embedder.embed(text) for text in tqdm(texts)])
        data = embs.float().numpy()
        mean = data.mean(axis=0)
        _, _, vt = np.linalg.svd(data - mean, full_matrices=False)
        torch.save({"idx_mapping": idx_mapping, "embs": embs,
                    "pca_components": torch.from_numpy(vt).float(),
                    "mean": torch.from_numpy(mean).float()}, path)

    def embed(self, *, text=None, emb=None, num_pca=None):
        """The stored embedding of `text` (or the given `emb`), PCA-reduced if num_pca."""
        assert (text is None) ^ (emb is None)
        if emb is None:
            emb = self.loaded["embs"][self.loaded["idx_mapping"][text]].float()
        if num_pca is not None:
            emb = self.encode_pca(emb, num_pca)
        return emb

    def encode_pca(self, emb, num_pca):
        return self.loaded["pca_components"][:num_pca] @ (emb - self.loaded["mean"])

    def decode_pca(self, emb):
        return self.loaded["pca_components"][:emb.shape[0]].T @ emb + self.loaded["mean"]


class EmojiDataset(Dataset):
    def __init__(
        self,
        image_size,
        data_path="data/emoji_data.npz",
        text_emb_path="data/text_embeddings.pt",
        num_text_emb_pca=None,
    ):
        data_path = find_emoji_file("emoji_data.npz", data_path)
        text_emb_path = find_emoji_file("text_embeddings.pt", text_emb_path)
        self.load_augs = False   # the course's switch for paraphrased captions (off)

        loaded = np.load(data_path, allow_pickle=True)
        self.data = [loaded[key].item() for key in loaded]

        self.transform = T.Compose([T.Resize(image_size), T.CenterCrop(image_size), T.ToTensor()])
        self.num_text_emb_pca = num_text_emb_pca
        self.text_embedder = TextEmbedder()
        self.text_embedder.load_processed(text_emb_path)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        images, texts = self.data[idx]["images"], self.data[idx]["texts"]
        img = self.transform(Image.fromarray(images[np.random.choice(len(images))]))
        text = np.random.choice(texts)
        text_emb = self.text_embedder.embed(text=text, num_pca=self.num_text_emb_pca)
        return img, {"text_emb": text_emb, "text": text}

    def random_model_kwargs(self, n):
        """model_kwargs of n random samples: {"text_emb": (n, D), "text": [n captions]}."""
        samples = [self[i] for i in np.random.choice(len(self), n)]
        _, model_kwargs = torch.utils.data.default_collate(samples)
        return model_kwargs

    def embed_new_text(self, text, clip_embed):
        """Embedding of a caption not in the file, with a ClipEmbed (or any object with
        .embed(text) -> (512,))."""
        emb = clip_embed.embed(text).float().cpu()
        if self.num_text_emb_pca is not None:
            emb = self.text_embedder.encode_pca(emb, self.num_text_emb_pca)
        return emb
