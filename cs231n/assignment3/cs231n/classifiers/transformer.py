"""Transformer models of CS231n 2025 assignment 3: a captioning decoder and a Vision
Transformer for image classification, built from cs231n/transformer_layers.py.

As in the layers, the order in which submodules are created and initialized is part of the
interface (the notebook's seeded checks compare outputs with expected values).
"""
import copy

import numpy as np
import torch
import torch.nn as nn

from ..transformer_layers import *  # noqa: F401,F403  (the course's import)
from ..transformer_layers import (PatchEmbedding, PositionalEncoding,
                                  TransformerDecoderLayer, TransformerEncoderLayer)


def _init_weights(module):
    """The course's initialization: N(0, 0.02) weights for linear and embedding layers, zero
    biases, LayerNorms as identity."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        module.weight.data.normal_(mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, nn.LayerNorm):
        module.bias.data.zero_()
        module.weight.data.fill_(1.0)


class CaptioningTransformer(nn.Module):
    """Writes captions for images with a Transformer decoder whose memory is the image.

    Image feature vectors have size D, the vocabulary has V words, captions have T tokens,
    word vectors have size W, minibatches hold N examples.
    """

    def __init__(self, word_to_idx, input_dim, wordvec_dim, num_heads=4,
                 num_layers=2, max_length=50):
        """
        Inputs:
        - word_to_idx: dict of the V words -> ids in [0, V); must hold <NULL> (<START> for
          sampling).
        - input_dim: size D of the image feature vectors.
        - wordvec_dim: size W of the word vectors (the model's width).
        - num_heads: number of attention heads.
        - num_layers: number of decoder layers.
        - max_length: the longest caption the positional encoding accepts.
        """
        super().__init__()

        vocab_size = len(word_to_idx)
        self.vocab_size = vocab_size
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        self.visual_projection = nn.Linear(input_dim, wordvec_dim)
        self.embedding = nn.Embedding(vocab_size, wordvec_dim, padding_idx=self._null)
        self.positional_encoding = PositionalEncoding(wordvec_dim, max_len=max_length)

        decoder_layer = TransformerDecoderLayer(input_dim=wordvec_dim, num_heads=num_heads)
        self.transformer = TransformerDecoder(decoder_layer, num_layers=num_layers)
        self.apply(self._init_weights)

        # Created after the initialization above, so it keeps PyTorch's default init (as in
        # the course; the notebook's expected scores depend on it).
        self.output = nn.Linear(wordvec_dim, vocab_size)

    def _init_weights(self, module):
        """Initialize one module (used with self.apply)."""
        _init_weights(module)

    def forward(self, features, captions):
        """
        Scores of the next word at every position of the given captions; each position sees
        only itself and the positions before it.

        Inputs:
        - features: image features, (N, D).
        - captions: word ids, (N, T).

        Returns:
        - scores: (N, T, V); scores[:, t] predicts the word after captions[:, t].
        """
        N, T = captions.shape
        scores = torch.empty((N, T, self.vocab_size))
        # TODO: embed the captions and add the positional encoding; project the image
        # features to the word-vector size to make a memory of one token per image; build
        # the (T, T) mask that hides later positions (torch.tril); run the decoder on the
        # caption tokens with that mask and the memory; map its output to vocabulary scores.
        # *****START OF YOUR CODE*****
        tokens = self.positional_encoding(self.embedding(captions))           # (N, T, W)
        memory = self.visual_projection(features).unsqueeze(1)                # (N, 1, W)
        # position t may attend to positions 0..t (lower triangle, diagonal included)
        tgt_mask = torch.tril(torch.ones(T, T, dtype=torch.bool, device=captions.device))
        decoded = self.transformer(tokens, memory, tgt_mask=tgt_mask)         # (N, T, W)
        scores = self.output(decoded)
        # *****END OF YOUR CODE*****
        return scores

    def sample(self, features, max_length=30):
        """
        Greedy decoding: start from <START>, append the highest-scoring word at every step.

        Inputs:
        - features: image features, (N, D) (numpy array or tensor).
        - max_length: number of words to generate.

        Returns:
        - captions: (N, max_length) int32 numpy array of word ids (the words after <START>;
          nothing stops at <END>, decode_captions cuts there).
        """
        with torch.no_grad():
            features = torch.Tensor(features)
            N = features.shape[0]

            captions = self._null * np.ones((N, max_length), dtype=np.int32)
            # the words so far, (N, t + 1): <START> then the words chosen
            partial = torch.full((N, 1), self._start, dtype=torch.long)
            for t in range(max_length):
                last_scores = self.forward(features, partial)[:, -1, :]   # (N, V)
                word = torch.argmax(last_scores, dim=1)                    # (N,)
                captions[:, t] = word.numpy()
                partial = torch.cat([partial, word[:, None]], dim=1)
            return captions


def clones(module, N):
    """N independent deep copies of module (with equal initial weights), as a ModuleList."""
    return nn.ModuleList([copy.deepcopy(module) for _ in range(N)])


class TransformerDecoder(nn.Module):
    """num_layers copies of a decoder layer applied in sequence."""

    def __init__(self, decoder_layer, num_layers):
        super().__init__()
        self.layers = clones(decoder_layer, num_layers)
        self.num_layers = num_layers

    def forward(self, tgt, memory, tgt_mask=None):
        """tgt: (N, T, D), memory: (N, S, D), tgt_mask: (T, T) or None -> (N, T, D)."""
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask)
        return output


class TransformerEncoder(nn.Module):
    """num_layers copies of an encoder layer applied in sequence."""

    def __init__(self, encoder_layer, num_layers):
        super().__init__()
        self.layers = clones(encoder_layer, num_layers)
        self.num_layers = num_layers

    def forward(self, src, src_mask=None):
        """src: (N, S, D), src_mask: (S, S) or None -> (N, S, D)."""
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=src_mask)
        return output


class VisionTransformer(nn.Module):
    """A Vision Transformer (ViT, https://arxiv.org/abs/2010.11929) classifier: patch
    embeddings + sinusoidal positional encoding -> encoder -> mean over patches -> linear."""

    def __init__(self, img_size=32, patch_size=8, in_channels=3,
                 embed_dim=128, num_layers=6, num_heads=4,
                 dim_feedforward=256, num_classes=10, dropout=0.1):
        """
        Inputs:
        - img_size: height = width of the input images.
        - patch_size: height = width of a patch.
        - in_channels: number of image channels.
        - embed_dim: size of the patch embeddings (the model's width).
        - num_layers: number of encoder layers.
        - num_heads: number of attention heads.
        - dim_feedforward: hidden size of the feed-forward networks.
        - num_classes: number of classes.
        - dropout: dropout probability everywhere.
        """
        super().__init__()
        self.num_classes = num_classes
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_channels, embed_dim)
        self.positional_encoding = PositionalEncoding(embed_dim, dropout=dropout)

        encoder_layer = TransformerEncoderLayer(embed_dim, num_heads, dim_feedforward, dropout)
        self.transformer = TransformerEncoder(encoder_layer, num_layers=num_layers)

        # The classifier, on the average of the patch vectors.
        self.head = nn.Linear(embed_dim, num_classes)

        self.apply(self._init_weights)

    def _init_weights(self, module):
        """Initialize one module (used with self.apply)."""
        _init_weights(module)

    def forward(self, x):
        """
        Inputs:
        - x: images, (N, C, H, W).

        Returns:
        - logits: class scores, (N, num_classes).
        """
        N = x.size(0)
        logits = torch.zeros(N, self.num_classes, device=x.device)
        # TODO: embed the patches of x, add the positional encoding, run the encoder,
        # average the patch vectors of each image (torch.mean) and classify the average with
        # the linear head.
        # *****START OF YOUR CODE*****
        tokens = self.positional_encoding(self.patch_embed(x))   # (N, P, D)
        encoded = self.transformer(tokens)                        # (N, P, D)
        logits = self.head(encoded.mean(dim=1))
        # *****END OF YOUR CODE*****
        return logits
