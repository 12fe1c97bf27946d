"""Variational autoencoders on MNIST (EECS 498-007 Fall 2020, A6).

As in the course, the decoders end in nn.Sigmoid(): they output the Bernoulli *probability*
of every pixel, an image in [0, 1]. `loss_function` is the negative ELBO: binary cross-entropy
of those probabilities (F.binary_cross_entropy) plus the closed-form KL divergence of the
Gaussian posterior from N(0, I), summed over pixels and latent dimensions and averaged over
the batch.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from a6_helper import one_hot  # noqa: F401  (given helper; the course keeps it in a6_helper.py)


def hello_vae():
    print("Hello from vae.py!")


def _check_sizes(**sizes):
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _flatten_input(x, input_size):
    """(N, ...) with input_size values per sample -> (N, input_size), else ValueError."""
    if x.dim() < 2 or x[0].numel() != input_size:
        raise ValueError(f"expected a batch of images with {input_size} values each (e.g. "
                         f"(N, 1, 28, 28) for MNIST), got shape {tuple(x.shape)}")
    return x.reshape(x.shape[0], input_size)


class VAE(nn.Module):
    def __init__(self, input_size, latent_size=15):
        """
        Inputs:
        - input_size: pixels per image H*W (784 for MNIST).
        - latent_size: dimension Z of the latent code (>= 1).
        """
        super().__init__()
        _check_sizes(input_size=input_size, latent_size=latent_size)
        self.input_size = input_size  # H*W
        self.latent_size = latent_size  # Z
        self.hidden_dim = None  # H_d
        self.encoder = None
        self.mu_layer = None
        self.logvar_layer = None
        self.decoder = None
        # TODO: choose a hidden size H_d (self.hidden_dim; 400 works well) and build
        #  encoder: Flatten, Linear(H*W, H_d), ReLU, Linear(H_d, H_d), ReLU, Linear(H_d, H_d), ReLU
        #  mu_layer, logvar_layer: Linear(H_d, Z) each (posterior mean and log-variance)
        #  decoder: Linear(Z, H_d), ReLU, Linear(H_d, H_d), ReLU, Linear(H_d, H_d), ReLU,
        #           Linear(H_d, H*W), Sigmoid, Unflatten to (1, H, W) (nn.Unflatten)
        # The Sigmoid makes the decoder's output an image of pixel probabilities in [0, 1].
        # *****START OF YOUR CODE*****
        self.hidden_dim = 400
        self.encoder = _mlp(input_size, self.hidden_dim, flatten=True)
        self.mu_layer = nn.Linear(self.hidden_dim, latent_size)
        self.logvar_layer = nn.Linear(self.hidden_dim, latent_size)
        self.decoder = nn.Sequential(_mlp(latent_size, self.hidden_dim), nn.Linear(self.hidden_dim, input_size),
                                     nn.Sigmoid(), _unflatten(input_size))
        # *****END OF YOUR CODE*****

    def forward(self, x):
        """
        Input: x: (N, 1, H, W) (or (N, H*W)) images in [0, 1].
        Returns:
        - x_hat: (N, 1, H, W) reconstruction, pixel probabilities in [0, 1]
        - mu: (N, Z) posterior means
        - logvar: (N, Z) posterior log-variances
        """
        x = _flatten_input(x, self.input_size)
        x_hat, mu, logvar = None, None, None
        # TODO: encode x, take mu and logvar from the encoding, sample z with reparametrize,
        # decode z to x_hat.
        # *****START OF YOUR CODE*****
        h = self.encoder(x)
        mu, logvar = self.mu_layer(h), self.logvar_layer(h)
        x_hat = self.decoder(reparametrize(mu, logvar))
        # *****END OF YOUR CODE*****
        return x_hat, mu, logvar


class CVAE(nn.Module):
    def __init__(self, input_size, num_classes=10, latent_size=15):
        """
        Inputs:
        - input_size: pixels per image H*W (784 for MNIST).
        - num_classes: number of classes C (10 digits).
        - latent_size: dimension Z of the latent code (>= 1).
        """
        super().__init__()
        _check_sizes(input_size=input_size, num_classes=num_classes, latent_size=latent_size)
        self.input_size = input_size  # H*W
        self.latent_size = latent_size  # Z
        self.num_classes = num_classes  # C
        self.hidden_dim = None  # H_d
        self.encoder = None
        self.mu_layer = None
        self.logvar_layer = None
        self.decoder = None
        # TODO: as in VAE (set self.hidden_dim too), but the encoder reads the flattened image
        # concatenated with the one-hot class (H*W + C inputs) and the decoder reads the latent
        # code concatenated with the one-hot class (Z + C inputs). The decoder ends in Sigmoid
        # and Unflatten, as in VAE.
        # *****START OF YOUR CODE*****
        self.hidden_dim = 400
        self.encoder = _mlp(input_size + num_classes, self.hidden_dim)
        self.mu_layer = nn.Linear(self.hidden_dim, latent_size)
        self.logvar_layer = nn.Linear(self.hidden_dim, latent_size)
        self.decoder = nn.Sequential(_mlp(latent_size + num_classes, self.hidden_dim),
                                     nn.Linear(self.hidden_dim, input_size), nn.Sigmoid(),
                                     _unflatten(input_size))
        # *****END OF YOUR CODE*****

    def condition(self, c):
        """c as (N,) integer labels or (N, C) one-hot -> (N, C) float one-hot (ValueError on
        labels outside 0..C-1 or a wrong shape)."""
        if c.dim() == 1:
            return one_hot(c, self.num_classes)
        if c.dim() != 2 or c.shape[1] != self.num_classes:
            raise ValueError(f"class input must be (N,) labels or (N, {self.num_classes}) one-hot, "
                             f"got shape {tuple(c.shape)}")
        return c if c.is_floating_point() else c.float()

    def forward(self, x, c):
        """
        Inputs:
        - x: (N, 1, H, W) images in [0, 1]
        - c: (N, C) one-hot classes (or (N,) integer labels)
        Returns x_hat (N, 1, H, W) pixel probabilities, mu (N, Z), logvar (N, Z).
        """
        x = _flatten_input(x, self.input_size)
        c = self.condition(c).to(x)
        if c.shape[0] != x.shape[0]:
            raise ValueError(f"{x.shape[0]} images but {c.shape[0]} class labels")
        x_hat, mu, logvar = None, None, None
        # TODO: encode [x, c], take mu and logvar, sample z with reparametrize, decode [z, c].
        # *****START OF YOUR CODE*****
        h = self.encoder(torch.cat([x, c], dim=1))
        mu, logvar = self.mu_layer(h), self.logvar_layer(h)
        z = reparametrize(mu, logvar)
        x_hat = self.decoder(torch.cat([z, c], dim=1))
        # *****END OF YOUR CODE*****
        return x_hat, mu, logvar


def _mlp(d_in, hidden, flatten=False):
    """[Flatten,] three Linear+ReLU layers: d_in -> hidden -> hidden -> hidden."""
    layers = [nn.Flatten()] if flatten else []
    for i in range(3):
        layers += [nn.Linear(d_in if i == 0 else hidden, hidden), nn.ReLU()]
    return nn.Sequential(*layers)


def _unflatten(input_size):
    side = int(round(input_size ** 0.5))
    return nn.Unflatten(1, (1, side, side)) if side * side == input_size else nn.Identity()


def reparametrize(mu, logvar):
    """
    Differentiably sample z ~ N(mu, diag(exp(logvar))).

    Inputs: mu (N, Z) means, logvar (N, Z) log-variances.
    Returns: z (N, Z).
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must match")
    z = None
    # TODO: z = mu + sigma * eps with eps ~ N(0, I) and sigma = exp(logvar / 2), so that the
    # randomness sits in eps and gradients flow to mu and logvar.
    # *****START OF YOUR CODE*****
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    # *****END OF YOUR CODE*****
    return z


def loss_function(x_hat, x, mu, logvar):
    """
    Negative variational lower bound, averaged over the batch.

    Inputs:
    - x_hat: (N, 1, H, W) reconstruction, pixel probabilities in [0, 1] (the decoder's output)
    - x: (N, 1, H, W) input images in [0, 1]
    - mu, logvar: (N, Z) posterior means and log-variances
    Returns: scalar
        (sum over pixels of BCE(x_hat, x)
         - 1/2 sum over latent dims of (1 + logvar - mu^2 - exp(logvar))) / N
    """
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat {tuple(x_hat.shape)} and x {tuple(x.shape)} must have the same shape")
    if mu.shape != logvar.shape or mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must both be (N, Z) "
                         f"with N = {x.shape[0]}")
    loss = None
    # TODO: reconstruction term with F.binary_cross_entropy (reduction 'sum'), plus the
    # closed-form KL divergence, both divided by the batch size N.
    # *****START OF YOUR CODE*****
    rec_term = F.binary_cross_entropy(x_hat, x, reduction="sum")
    kldiv_term = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    loss = (rec_term + kldiv_term) / x.shape[0]
    # *****END OF YOUR CODE*****
    return loss
