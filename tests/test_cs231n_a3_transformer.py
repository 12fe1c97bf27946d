"""CS231n 2025 assignment 3, Transformer_Captioning: every student layer and model against an
independent reference, in float64 on fixed seeded inputs.

References: the sin/cos closed form (positional encoding), F.scaled_dot_product_attention and
nn.MultiheadAttention with the course's key/query/value/proj weights copied in (attention),
nn.TransformerEncoderLayer / nn.TransformerDecoderLayer (post-norm, GELU) with copied weights
(the layers), F.unfold and an explicit per-patch slice (patch embedding), and models assembled
from those torch modules (ViT, captioning transformer). Dropout is 0 or the modules are in
eval mode, except where a test checks where dropout is applied.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"
TOL = 1e-10
F64 = torch.float64


def layers():
    return course_module(A3, "cs231n.transformer_layers")


def models():
    return course_module(A3, "cs231n.classifiers.transformer")


def assert_close(ours, ref, tol=TOL):
    ours, ref = ours.detach(), ref.detach()
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    err = (ours - ref).abs().max().item() / max(ref.abs().max().item(), 1e-12)
    assert err < tol, f"max relative difference {err:.3g} >= {tol}"


def closed_form_pe(max_len, D):
    """pe[p, 2i] = sin(p / 10000^(2i/D)), pe[p, 2i+1] = cos(p / 10000^(2i/D)), in float64."""
    pe = np.zeros((max_len, D))
    for p in range(max_len):
        for i in range(D // 2):
            angle = p / 10000 ** (2 * i / D)
            pe[p, 2 * i], pe[p, 2 * i + 1] = math.sin(angle), math.cos(angle)
    return torch.tensor(pe, dtype=F64)


def random_mask(S, T, gen):
    """A boolean (S, T) mask (True = may attend) with at least one allowed key per row."""
    mask = torch.rand(S, T, generator=gen) < 0.6
    mask[torch.arange(S), torch.randint(0, T, (S,), generator=gen)] = True
    return mask


# ---------------------------------------------------------------- reference builders

def torch_mha_from_course(attn):
    """nn.MultiheadAttention (batch_first, no dropout) holding the course module's weights."""
    E = attn.proj.in_features
    ref = nn.MultiheadAttention(E, attn.n_head, dropout=0.0, batch_first=True).to(F64)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]))
        ref.in_proj_bias.copy_(torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]))
        ref.out_proj.weight.copy_(attn.proj.weight)
        ref.out_proj.bias.copy_(attn.proj.bias)
    return ref.eval()


def sdpa_reference(attn, query, key, value, mask=None):
    """The course's attention written with F.scaled_dot_product_attention (bool mask: True =
    may attend, the opposite of nn.MultiheadAttention's convention)."""
    N, S, E = query.shape
    T = key.shape[1]
    H = attn.n_head

    def heads(x, L):
        return x.view(N, L, H, E // H).transpose(1, 2)

    q = heads(F.linear(query, attn.query.weight, attn.query.bias), S)
    k = heads(F.linear(key, attn.key.weight, attn.key.bias), T)
    v = heads(F.linear(value, attn.value.weight, attn.value.bias), T)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return F.linear(y.transpose(1, 2).reshape(N, S, E), attn.proj.weight, attn.proj.bias)


def copy_ffn(ref, ffn):
    ref.linear1.weight.copy_(ffn.fc1.weight)
    ref.linear1.bias.copy_(ffn.fc1.bias)
    ref.linear2.weight.copy_(ffn.fc2.weight)
    ref.linear2.bias.copy_(ffn.fc2.bias)


def copy_norm(ref, norm):
    ref.weight.copy_(norm.weight)
    ref.bias.copy_(norm.bias)


def torch_encoder_layer_from_course(layer, dim_feedforward):
    D = layer.norm_self.normalized_shape[0]
    ref = nn.TransformerEncoderLayer(D, layer.self_attn.n_head, dim_feedforward, dropout=0.0,
                                     activation="gelu", batch_first=True, norm_first=False).to(F64)
    with torch.no_grad():
        ref.self_attn.load_state_dict(torch_mha_from_course(layer.self_attn).state_dict())
        copy_ffn(ref, layer.ffn)
        copy_norm(ref.norm1, layer.norm_self)
        copy_norm(ref.norm2, layer.norm_ffn)
    return ref.eval()


def torch_decoder_layer_from_course(layer, dim_feedforward):
    D = layer.norm_self.normalized_shape[0]
    ref = nn.TransformerDecoderLayer(D, layer.self_attn.n_head, dim_feedforward, dropout=0.0,
                                     activation="gelu", batch_first=True, norm_first=False).to(F64)
    with torch.no_grad():
        ref.self_attn.load_state_dict(torch_mha_from_course(layer.self_attn).state_dict())
        ref.multihead_attn.load_state_dict(torch_mha_from_course(layer.cross_attn).state_dict())
        copy_ffn(ref, layer.ffn)
        copy_norm(ref.norm1, layer.norm_self)
        copy_norm(ref.norm2, layer.norm_cross)
        copy_norm(ref.norm3, layer.norm_ffn)
    return ref.eval()


def randomize_(module, gen):
    """Give every parameter (LayerNorms included) random values, so that no identity
    LayerNorm or zero bias can hide a mistake."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.3)
    return module


def patches_unfold(x, p):
    """(N, C, H, W) -> (N, L, p*p*C): F.unfold gives each patch as (C, p, p); reorder to the
    course's (p, p, C)."""
    N, C = x.shape[:2]
    cols = F.unfold(x, kernel_size=p, stride=p)                # (N, C*p*p, L)
    L = cols.shape[-1]
    return cols.view(N, C, p, p, L).permute(0, 4, 2, 3, 1).reshape(N, L, p * p * C)


# ---------------------------------------------------------------- positional encoding

@pytest.mark.reference("cs231n/assignment3", "cs231n/transformer_layers.py::PositionalEncoding.__init__",
                       "cs231n/transformer_layers.py::PositionalEncoding.forward")
def test_positional_encoding_matches_closed_form():
    TL = layers()
    gen = torch.Generator().manual_seed(0)
    for D, max_len in ((6, 50), (32, 200)):
        layer = TL.PositionalEncoding(D, dropout=0.0, max_len=max_len)
        assert tuple(layer.pe.shape) == (1, max_len, D)
        assert "pe" in dict(layer.named_buffers())
        assert_close(layer.pe[0].to(F64), closed_form_pe(max_len, D), tol=1e-5)   # float32 buffer
        x = torch.randn(3, 7, D, generator=gen)
        assert_close(layer.eval()(x).to(F64), x.to(F64) + closed_form_pe(7, D), tol=1e-5)

    # dropout acts after the addition: every element is 0 or (x + pe) / (1 - p)
    layer = TL.PositionalEncoding(16, dropout=0.5, max_len=20).train()
    x = torch.randn(4, 9, 16, generator=gen)
    out = layer(x)
    full = (x + layer.pe[:, :9]) / 0.5
    kept = out != 0
    assert 0 < kept.float().mean() < 1
    assert_close(out[kept].to(F64), full[kept].to(F64), tol=1e-6)


# ---------------------------------------------------------------- multi-head attention

@pytest.mark.reference("cs231n/assignment3", "cs231n/transformer_layers.py::MultiHeadAttention.forward")
def test_multihead_attention_matches_sdpa_and_torch_mha():
    TL = layers()
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    N, S, T, E, H = 3, 5, 7, 12, 3
    attn = TL.MultiHeadAttention(E, H, dropout=0.0).to(F64).eval()
    x = torch.randn(N, S, E, generator=gen, dtype=F64)
    mem = torch.randn(N, T, E, generator=gen, dtype=F64)
    ref_mha = torch_mha_from_course(attn)
    causal = torch.tril(torch.ones(S, S, dtype=torch.bool))
    cross_mask = random_mask(S, T, gen)

    cases = [(x, x, x, None), (x, x, x, causal), (x, mem, mem, None), (x, mem, mem, cross_mask),
             (x, x, x, causal.long())]          # the course's masks may also be 0/1 numbers
    for q, k, v, mask in cases:
        ours = attn(query=q, key=k, value=v, attn_mask=mask)
        bool_mask = None if mask is None else mask != 0
        assert_close(ours, sdpa_reference(attn, q, k, v, bool_mask))
        ref, _ = ref_mha(q, k, v, attn_mask=None if mask is None else ~bool_mask, need_weights=False)
        assert_close(ours, ref)



@pytest.mark.reference("cs231n/assignment3", "cs231n/transformer_layers.py::MultiHeadAttention.forward")
def test_multihead_attention_dropout_acts_on_the_attention_weights():
    """In training mode the module draws one dropout mask of shape (N, H, S, T), applies it
    to the softmax weights (scaled by 1/(1-p)) and nothing else."""
    TL = layers()
    gen = torch.Generator().manual_seed(2)
    N, S, T, E, H, p = 2, 4, 6, 8, 2, 0.3
    attn = TL.MultiHeadAttention(E, H, dropout=p).to(F64).train()
    q = torch.randn(N, S, E, generator=gen, dtype=F64)
    kv = torch.randn(N, T, E, generator=gen, dtype=F64)

    torch.manual_seed(123)
    ours = attn(q, kv, kv)
    torch.manual_seed(123)
    keep = F.dropout(torch.ones(N, H, S, T, dtype=F64), p, True)        # the same draw
    Q = F.linear(q, attn.query.weight, attn.query.bias).view(N, S, H, E // H).transpose(1, 2)
    K = F.linear(kv, attn.key.weight, attn.key.bias).view(N, T, H, E // H).transpose(1, 2)
    V = F.linear(kv, attn.value.weight, attn.value.bias).view(N, T, H, E // H).transpose(1, 2)
    weights = torch.softmax(Q @ K.transpose(-1, -2) / math.sqrt(E // H), dim=-1) * keep
    ref = F.linear((weights @ V).transpose(1, 2).reshape(N, S, E), attn.proj.weight, attn.proj.bias)
    assert_close(ours, ref)


# ---------------------------------------------------------------- encoder and decoder layers

@pytest.mark.reference("cs231n/assignment3", "cs231n/transformer_layers.py::TransformerEncoderLayer.forward")
def test_encoder_layer_matches_torch_encoder_layer():
    TL = layers()
    gen = torch.Generator().manual_seed(3)
    N, S, D, H, FF = 2, 6, 12, 3, 20
    layer = randomize_(TL.TransformerEncoderLayer(D, H, FF, dropout=0.1).to(F64), gen).eval()
    ref = torch_encoder_layer_from_course(layer, FF)
    src = torch.randn(N, S, D, generator=gen, dtype=F64)
    assert_close(layer(src), ref(src))
    mask = random_mask(S, S, gen)
    assert_close(layer(src, src_mask=mask), ref(src, src_mask=~mask))


@pytest.mark.reference("cs231n/assignment3", "cs231n/transformer_layers.py::TransformerDecoderLayer.forward")
def test_decoder_layer_matches_torch_decoder_layer():
    TL = layers()
    gen = torch.Generator().manual_seed(4)
    N, T, S, D, H, FF = 2, 5, 3, 12, 2, 24
    layer = randomize_(TL.TransformerDecoderLayer(D, H, FF, dropout=0.1).to(F64), gen).eval()
    ref = torch_decoder_layer_from_course(layer, FF)
    tgt = torch.randn(N, T, D, generator=gen, dtype=F64)
    memory = torch.randn(N, S, D, generator=gen, dtype=F64)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    assert_close(layer(tgt, memory, tgt_mask=causal), ref(tgt, memory, tgt_mask=~causal))
    assert_close(layer(tgt, memory), ref(tgt, memory))


# ---------------------------------------------------------------- patch embedding

@pytest.mark.reference("cs231n/assignment3", "cs231n/transformer_layers.py::PatchEmbedding.forward")
def test_patch_embedding_matches_unfold_in_course_order():
    TL = layers()
    gen = torch.Generator().manual_seed(5)
    for N, C, size, p, D in ((2, 3, 16, 8, 8), (3, 2, 12, 4, 5), (1, 3, 32, 16, 7)):
        layer = TL.PatchEmbedding(size, p, in_channels=C, embed_dim=D).to(F64)
        x = torch.randn(N, C, size, size, generator=gen, dtype=F64)
        out = layer(x)
        assert_close(out, F.linear(patches_unfold(x, p), layer.proj.weight, layer.proj.bias))

        # one patch by hand: row r, column c of the grid is patch r * (size // p) + c, and its
        # vector lists pixel (i, j) channel k at position (i * p + j) * C + k
        r, c = size // p - 1, 0
        patch = x[0, :, r * p:(r + 1) * p, c * p:(c + 1) * p].permute(1, 2, 0).reshape(-1)
        assert_close(out[0, r * (size // p) + c], layer.proj(patch))


# ---------------------------------------------------------------- the two models

def torch_vit_reference(vit, x):
    """Our ViT's weights in torch modules: unfold patches -> linear -> + closed-form PE ->
    nn.TransformerEncoderLayer stack -> mean over patches -> linear head."""
    pe_layer = vit.patch_embed
    tokens = F.linear(patches_unfold(x, pe_layer.patch_size), pe_layer.proj.weight, pe_layer.proj.bias)
    tokens = tokens + closed_form_pe(tokens.shape[1], tokens.shape[2])
    for layer in vit.transformer.layers:
        tokens = torch_encoder_layer_from_course(layer, layer.ffn.fc1.out_features)(tokens)
    return F.linear(tokens.mean(dim=1), vit.head.weight, vit.head.bias)


@pytest.mark.reference("cs231n/assignment3", "cs231n/classifiers/transformer.py::VisionTransformer.forward")
def test_vision_transformer_matches_torch_assembly():
    M = models()
    gen = torch.Generator().manual_seed(6)
    torch.manual_seed(6)
    vit = M.VisionTransformer(img_size=16, patch_size=4, embed_dim=16, num_layers=2, num_heads=2,
                              dim_feedforward=24, num_classes=5, dropout=0.1)
    vit = randomize_(vit.to(F64), gen).eval()
    x = torch.randn(3, 3, 16, 16, generator=gen, dtype=F64)
    logits = vit(x)
    assert tuple(logits.shape) == (3, 5)
    assert_close(logits, torch_vit_reference(vit, x), tol=1e-6)   # the PE buffer is float32


def torch_captioning_reference(model, features, captions):
    """Our captioning model's weights in torch modules: embedding + closed-form PE, the image
    projected to one memory token, nn.TransformerDecoderLayer stack with a causal mask, output
    linear layer."""
    N, T = captions.shape
    tokens = F.embedding(captions, model.embedding.weight)
    tokens = tokens + closed_form_pe(T, tokens.shape[-1])
    memory = F.linear(features, model.visual_projection.weight, model.visual_projection.bias)[:, None]
    blocked = ~torch.tril(torch.ones(T, T, dtype=torch.bool))
    for layer in model.transformer.layers:
        ref = torch_decoder_layer_from_course(layer, layer.ffn.fc1.out_features)
        tokens = ref(tokens, memory, tgt_mask=blocked)
    return F.linear(tokens, model.output.weight, model.output.bias)


@pytest.mark.reference("cs231n/assignment3", "cs231n/classifiers/transformer.py::CaptioningTransformer.forward")
def test_captioning_transformer_matches_torch_assembly():
    M = models()
    gen = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    word_to_idx = {'<NULL>': 0, '<START>': 1, '<END>': 2, 'a': 3, 'cat': 4, 'dog': 5}
    model = M.CaptioningTransformer(word_to_idx, input_dim=10, wordvec_dim=8, num_heads=2,
                                    num_layers=2, max_length=12)
    model = randomize_(model.to(F64), gen).eval()
    features = torch.randn(4, 10, generator=gen, dtype=F64)
    captions = torch.randint(0, 6, (4, 9), generator=gen)
    scores = model(features, captions)
    assert tuple(scores.shape) == (4, 9, 6)
    assert_close(scores, torch_captioning_reference(model, features, captions), tol=1e-6)  # float32 PE

    # causality: the scores at step t do not depend on the words after t
    changed = captions.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 6
    assert_close(model(features, changed)[:, :5], scores[:, :5])
