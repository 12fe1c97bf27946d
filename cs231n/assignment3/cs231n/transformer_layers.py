"""Building blocks of a Transformer (CS231n 2025 assignment 3), in PyTorch.

Shapes: N minibatch size, S / T sequence lengths (query side / key side), E or D the
embedding size, H the number of heads. Every layer is an nn.Module; autograd does the
backward pass.

The order in which the layers create their submodules is part of the interface: the
notebook's checks seed the generator, build a layer and compare with expected values, so
the parameters must be drawn in the course's order (key, query, value, proj; fc1, fc2; ...),
and dropout must be applied at the same places (it consumes random numbers in train mode).
"""
import math

import torch
import torch.nn as nn
from torch.nn import functional as F


class PositionalEncoding(nn.Module):
    """Adds a fixed sinusoidal code of each token's position to its embedding (no weights).

    pe[0, p, 2i] = sin(p * 10000^(-2i / D)) and pe[0, p, 2i + 1] = cos(p * 10000^(-2i / D)):
    each pair of columns shares one frequency (exponents 0, 0, 2, 2, 4, 4, ...).
    """

    def __init__(self, embed_dim, dropout=0.1, max_len=5000):
        """
        Inputs:
        - embed_dim: size D of the embeddings (even).
        - dropout: dropout probability applied after the addition.
        - max_len: the longest sequence the layer accepts.
        """
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        assert embed_dim % 2 == 0
        # A leading batch dimension of 1 broadcasts over the minibatch.
        pe = torch.zeros(1, max_len, embed_dim)
        # TODO: fill pe so that along each row the columns alternate sine, cosine, with the
        # frequencies described in Transformer_Captioning.ipynb (the exponents go 0, 0, 2, 2,
        # 4, 4, ... up to embed_dim). A few lines are enough.
        # *****START OF YOUR CODE*****
        position = torch.arange(max_len, dtype=torch.float32)[:, None]          # (max_len, 1)
        exponent = torch.arange(0, embed_dim, 2, dtype=torch.float32) / embed_dim  # (D/2,)
        angle = position * torch.pow(10000.0, -exponent)                         # (max_len, D/2)
        pe[0, :, 0::2] = torch.sin(angle)
        pe[0, :, 1::2] = torch.cos(angle)
        # *****END OF YOUR CODE*****
        # A buffer: saved with the model's state, moved with .to(device), never trained.
        self.register_buffer('pe', pe)

    def forward(self, x):
        """
        Inputs:
        - x: token embeddings, (N, S, D) with S <= max_len.

        Returns:
        - output: dropout(x + the encodings of positions 0..S-1), (N, S, D).
        """
        N, S, D = x.shape
        output = torch.empty((N, S, D))
        # TODO: add the encodings of the first S positions to x, then apply dropout.
        # *****START OF YOUR CODE*****
        output = self.dropout(x + self.pe[:, :S])
        # *****END OF YOUR CODE*****
        return output


class MultiHeadAttention(nn.Module):
    """Multi-headed scaled dot-product attention with an optional mask
    ("Attention Is All You Need", https://arxiv.org/abs/1706.03762).

        attn = MultiHeadAttention(embed_dim, num_heads=2)
        out = attn(query=x, key=x, value=x)              # self-attention
        out = attn(query=x, key=other, value=other)      # attention to another sequence
    """

    def __init__(self, embed_dim, num_heads, dropout=0.1):
        """
        Inputs:
        - embed_dim: size E of the token embeddings (divisible by num_heads).
        - num_heads: number H of attention heads.
        - dropout: dropout probability on the attention weights.
        """
        super().__init__()
        assert embed_dim % num_heads == 0
        # Given: the projections are created here, in this order, because the order decides
        # the random initial weights and hence the notebook's expected outputs. All have a bias.
        self.key = nn.Linear(embed_dim, embed_dim)
        self.query = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

        self.attn_drop = nn.Dropout(dropout)

        self.n_head = num_heads
        self.emd_dim = embed_dim
        self.head_dim = self.emd_dim // self.n_head

    def forward(self, query, key, value, attn_mask=None):
        """
        Inputs:
        - query: (N, S, E).
        - key: (N, T, E).
        - value: (N, T, E).
        - attn_mask: optional (S, T); attn_mask[i, j] == 0 means that query token i must not
          attend to key token j (its weight is zero).

        Returns:
        - output: (N, S, E), for every query token the attention-weighted combination of the
          values, over all heads, followed by the output projection `proj`.
        """
        N, S, E = query.shape
        N, T, E = value.shape
        output = torch.empty((N, S, E))
        # TODO: implement multi-headed attention as in Transformer_Captioning.ipynb:
        # project query, key and value, split the E features into H heads of E/H each
        # ((N, T, E) -> (N, H, T, E/H)), compute the scores of every query against every key
        # scaled by 1/sqrt(E/H), block the masked positions before the softmax (see
        # Tensor.masked_fill), apply self.attn_drop to the attention weights, combine the
        # values, merge the heads back to (N, S, E) and apply self.proj. torch.matmul
        # multiplies batches of matrices.
        # *****START OF YOUR CODE*****
        H, Dh = self.n_head, self.head_dim
        q = self.query(query).view(N, S, H, Dh).transpose(1, 2)   # (N, H, S, Dh)
        k = self.key(key).view(N, T, H, Dh).transpose(1, 2)       # (N, H, T, Dh)
        v = self.value(value).view(N, T, H, Dh).transpose(1, 2)   # (N, H, T, Dh)

        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(Dh)   # (N, H, S, T)
        if attn_mask is not None:
            # a blocked score becomes -inf, so its softmax weight is exactly 0
            scores = scores.masked_fill(attn_mask == 0, float('-inf'))
        weights = self.attn_drop(torch.softmax(scores, dim=-1))          # (N, H, S, T)

        heads = torch.matmul(weights, v)                                  # (N, H, S, Dh)
        output = self.proj(heads.transpose(1, 2).reshape(N, S, E))
        # *****END OF YOUR CODE*****
        return output


class FeedForwardNetwork(nn.Module):
    """The position-wise two-layer network of a Transformer block: fc2(dropout(gelu(fc1 x)))."""

    def __init__(self, embed_dim, ffn_dim, dropout=0.1):
        """
        Inputs:
        - embed_dim: size of the input and output vectors.
        - ffn_dim: size of the hidden layer.
        - dropout: dropout probability after the activation.
        """
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, ffn_dim)
        self.gelu = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(ffn_dim, embed_dim)

    def forward(self, x):
        """x: (N, T, D) -> (N, T, D), every position transformed independently."""
        return self.fc2(self.dropout(self.gelu(self.fc1(x))))


class TransformerDecoderLayer(nn.Module):
    """One decoder layer: masked self-attention, cross-attention to a memory sequence, and a
    feed-forward network; each block is residual, with dropout on its output and a LayerNorm
    after the addition (post-norm)."""

    def __init__(self, input_dim, num_heads, dim_feedforward=2048, dropout=0.1):
        """
        Inputs:
        - input_dim: size D of the token vectors.
        - num_heads: number of attention heads.
        - dim_feedforward: hidden size of the feed-forward network.
        - dropout: dropout probability.
        """
        super().__init__()
        self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.cross_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.ffn = FeedForwardNetwork(input_dim, dim_feedforward, dropout)

        self.norm_self = nn.LayerNorm(input_dim)
        self.norm_cross = nn.LayerNorm(input_dim)
        self.norm_ffn = nn.LayerNorm(input_dim)

        self.dropout_self = nn.Dropout(dropout)
        self.dropout_cross = nn.Dropout(dropout)
        self.dropout_ffn = nn.Dropout(dropout)

    def forward(self, tgt, memory, tgt_mask=None):
        """
        Inputs:
        - tgt: the decoder's input sequence, (N, T, D).
        - memory: the sequence to attend to (e.g. the encoder's output), (N, S, D).
        - tgt_mask: optional (T, T) mask of the self-attention (0 = blocked).

        Returns:
        - out: (N, T, D).
        """
        # Given: the self-attention block, the pattern the two blocks below follow.
        residual = tgt
        tgt = self.self_attn(query=tgt, key=tgt, value=tgt, attn_mask=tgt_mask)
        tgt = self.norm_self(residual + self.dropout_self(tgt))

        # TODO: add the two remaining blocks in the same pattern: (1) cross-attention whose
        # queries are the target tokens and whose keys and values are the memory, (2) the
        # feed-forward network; each with its dropout, residual connection and LayerNorm.
        # *****START OF YOUR CODE*****
        residual = tgt
        tgt = self.cross_attn(query=tgt, key=memory, value=memory)
        tgt = self.norm_cross(residual + self.dropout_cross(tgt))

        residual = tgt
        tgt = self.ffn(tgt)
        tgt = self.norm_ffn(residual + self.dropout_ffn(tgt))
        # *****END OF YOUR CODE*****
        return tgt


class PatchEmbedding(nn.Module):
    """Cuts an image into non-overlapping square patches and maps each flattened patch to an
    embedding vector with one linear layer: the input layer of a Vision Transformer.

    Patches are numbered row by row (left to right, then top to bottom); a patch is flattened
    as (patch_size, patch_size, C): rows, then columns, then channels (channels fastest).
    """

    def __init__(self, img_size, patch_size, in_channels=3, embed_dim=128):
        """
        Inputs:
        - img_size: height = width of the (square) input images.
        - patch_size: height = width of a patch; must divide img_size.
        - in_channels: number C of image channels.
        - embed_dim: size of the patch embeddings.
        """
        super().__init__()

        self.img_size = img_size
        self.patch_size = patch_size
        self.in_channels = in_channels
        self.embed_dim = embed_dim

        assert img_size % patch_size == 0, "Image dimensions must be divisible by the patch size."

        self.num_patches = (img_size // patch_size) ** 2
        self.patch_dim = patch_size * patch_size * in_channels

        # The linear map from a flattened patch to its embedding.
        self.proj = nn.Linear(self.patch_dim, embed_dim)

    def forward(self, x):
        """
        Inputs:
        - x: images, (N, C, H, W) with H = W = img_size.

        Returns:
        - out: patch embeddings, (N, num_patches, embed_dim).
        """
        N, C, H, W = x.shape
        assert H == self.img_size and W == self.img_size, \
            f"Expected image size ({self.img_size}, {self.img_size}), but got ({H}, {W})"
        out = torch.zeros(N, self.embed_dim)
        # TODO: without a loop, cut x into patches of shape (patch_size x patch_size x C),
        # arrange them as a tensor (N, num_patches, patch_dim) (torch.reshape and
        # torch.permute help), and embed every patch with self.proj.
        # *****START OF YOUR CODE*****
        p = self.patch_size
        rows, cols = H // p, W // p
        # (N, C, rows, p, cols, p) -> (N, rows, cols, p, p, C): patch index first, then the
        # pixel's row and column inside the patch, then the channel
        patches = x.reshape(N, C, rows, p, cols, p).permute(0, 2, 4, 3, 5, 1)
        out = self.proj(patches.reshape(N, rows * cols, self.patch_dim))
        # *****END OF YOUR CODE*****
        return out


class TransformerEncoderLayer(nn.Module):
    """One encoder layer: self-attention and a feed-forward network, each residual with
    dropout on its output and a LayerNorm after the addition (post-norm)."""

    def __init__(self, input_dim, num_heads, dim_feedforward=2048, dropout=0.1):
        """
        Inputs:
        - input_dim: size D of the token vectors.
        - num_heads: number of attention heads.
        - dim_feedforward: hidden size of the feed-forward network.
        - dropout: dropout probability.
        """
        super().__init__()
        self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.ffn = FeedForwardNetwork(input_dim, dim_feedforward, dropout)

        self.norm_self = nn.LayerNorm(input_dim)
        self.norm_ffn = nn.LayerNorm(input_dim)

        self.dropout_self = nn.Dropout(dropout)
        self.dropout_ffn = nn.Dropout(dropout)

    def forward(self, src, src_mask=None):
        """
        Inputs:
        - src: the input sequence, (N, S, D).
        - src_mask: optional (S, S) self-attention mask (0 = blocked).

        Returns:
        - out: (N, S, D).
        """
        # TODO: a self-attention block, then a feed-forward block, each built like the
        # blocks of TransformerDecoderLayer (dropout, residual connection, LayerNorm).
        # *****START OF YOUR CODE*****
        residual = src
        src = self.self_attn(query=src, key=src, value=src, attn_mask=src_mask)
        src = self.norm_self(residual + self.dropout_self(src))

        residual = src
        src = self.ffn(src)
        src = self.norm_ffn(residual + self.dropout_ffn(src))
        # *****END OF YOUR CODE*****
        return src
