"""Autoencoders of user profiles in TensorFlow / Keras 3: a denoising autoencoder, Mult-DAE and Mult-VAE.

Liang et al., "Variational Autoencoders for Collaborative Filtering", WWW 2018. Twin:
course_lib/torch/autoencoder.py (same classes, arguments and weight names). The corruption mask
and the VAE's epsilon arrive in the batch (drawn with NumPy in course_lib/autoencoder_base.py).

Shapes: B users in a batch, I n_items, H hidden_dim, Z latent_dim.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.autoencoder_base import AutoencoderBase, DenoisingMixin
from course_lib.tf.training import TFSteps, dense_weights

__all__ = ["AutoencoderNet", "multinomial_log_likelihood", "reparameterize", "kl_divergence",
           "DenoisingAutoencoder", "MultDAE", "MultVAE"]


def multinomial_log_likelihood(logits: tf.Tensor, profiles: tf.Tensor) -> tf.Tensor:
    """Mean over users of sum_i x_ui log softmax(logits_u)_i: (B, I), (B, I) -> ()."""
    return tf.reduce_mean(tf.reduce_sum(tf.nn.log_softmax(logits, axis=-1) * profiles, axis=-1))


def reparameterize(mean: tf.Tensor, log_variance: tf.Tensor, epsilon: tf.Tensor) -> tf.Tensor:
    """z = mu + sigma * epsilon with sigma = exp(log_variance / 2): differentiable in mu and sigma."""
    return mean + tf.exp(0.5 * log_variance) * epsilon                      # (B, Z)


def kl_divergence(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)), summed over Z and averaged over users: (B, Z) -> ()."""
    return tf.reduce_mean(tf.reduce_sum(0.5 * (-log_variance + tf.exp(log_variance) + tf.square(mean) - 1), axis=-1))


def _uniform(fan_in: int, seed: int) -> keras.initializers.Initializer:
    return keras.initializers.RandomUniform(-fan_in ** -0.5, fan_in ** -0.5, seed=seed)


class AutoencoderNet(keras.Model):
    """I -> H -> Z (or 2Z: mean and log-variance) -> H -> I, tanh between layers, logits out."""

    def __init__(self, n_items: int, hidden_dim: int, latent_dim: int, variational: bool = False,
                 normalize_input: bool = True, seed: int = 0) -> None:
        super().__init__()
        # PyTorch's nn.Linear default, as the twin: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        widths = [(n_items, hidden_dim), (hidden_dim, 2 * latent_dim if variational else latent_dim),
                  (latent_dim, hidden_dim), (hidden_dim, n_items)]
        layers = [keras.layers.Dense(units, kernel_initializer=_uniform(fan_in, seed + 2 * k),
                                     bias_initializer=_uniform(fan_in, seed + 2 * k + 1))
                  for k, (fan_in, units) in enumerate(widths)]
        self.encoder, self.decoder = layers[:2], layers[2:]
        self.variational, self.normalize_input = variational, normalize_input

    def call(self, inputs: tf.Tensor, epsilon: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
        """Logits (B, I), the code or the posterior mean (B, Z), and the log-variance (B, Z) or None."""
        # torch's F.normalize: x / max(|x|, 1e-12)
        x = inputs / tf.maximum(tf.norm(inputs, axis=-1, keepdims=True), 1e-12) if self.normalize_input else inputs
        code = self.encoder[1](tf.tanh(self.encoder[0](x)))                     # (B, Z) or (B, 2Z)
        if self.variational:
            mean, log_variance = tf.split(code, 2, axis=-1)                      # (B, Z), (B, Z)
            z = reparameterize(mean, log_variance, epsilon) if epsilon is not None else mean
        else:
            mean, log_variance, z = code, None, tf.tanh(code)
        return self.decoder[1](tf.tanh(self.decoder[0](z))), mean, log_variance  # (B, I), (B, Z), (B, Z)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {**dense_weights(self.encoder[0], "encoder.0"), **dense_weights(self.encoder[1], "encoder.1"),
                **dense_weights(self.decoder[0], "decoder.0"), **dense_weights(self.decoder[1], "decoder.1")}


class _TFAutoencoder(AutoencoderBase, TFSteps):
    def _network(self, train: Any) -> keras.Model:
        return AutoencoderNet(self.n_items_, self.hidden_dim, self.latent_dim, self._variational,
                              True, self.seed)

    def _dummy_batch(self) -> dict[str, np.ndarray]:
        batch = {"profiles": np.zeros((1, self.n_items_), np.float32), "inputs": np.zeros((1, self.n_items_), np.float32)}
        if self._variational:
            batch.update(epsilon=np.zeros((1, self.latent_dim), np.float32), beta=np.float32(0))
        return batch

    def _forward_numpy(self, profiles: np.ndarray) -> np.ndarray:
        with tf.device(self.device_):
            return self.network_(tf.constant(profiles, tf.float32))[0].numpy()

    def _batch_loss(self, batch: dict[str, tf.Tensor], training: bool) -> tf.Tensor:
        profiles = batch["profiles"]                                                            # (B, I)
        logits, mean, log_variance = self.network_(batch["inputs"], batch.get("epsilon"))
        if self._likelihood == "logistic":
            bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=profiles, logits=logits)
            loss = tf.reduce_mean(tf.reduce_sum(bce, axis=-1))
        else:
            loss = -multinomial_log_likelihood(logits, profiles)
        if self._variational:
            loss = loss + tf.cast(batch["beta"], tf.float32) * kl_divergence(mean, log_variance)
        return loss


class DenoisingAutoencoder(DenoisingMixin, _TFAutoencoder):
    """A denoising autoencoder of binary profiles with a logistic (per-item Bernoulli) likelihood;
    ``dropout`` drops observed items, ``switch_on`` turns unobserved items on."""

    _likelihood = "logistic"

    def __init__(self, hidden_dim: int = 600, latent_dim: int = 200, dropout: float = 0.5,
                 switch_on: float = 0.0, **arguments: Any) -> None:
        super().__init__(hidden_dim, latent_dim, dropout, **arguments)
        self.switch_on = switch_on


class MultDAE(_TFAutoencoder):
    """Mult-DAE (Liang et al. 2018): dropout-corrupted, L2-normalized profiles, multinomial likelihood."""


class MultVAE(_TFAutoencoder):
    """Mult-VAE (Liang et al. 2018): Gaussian latent code, multinomial likelihood, KL annealed to ``anneal_cap``."""

    _variational = True

    def __init__(self, hidden_dim: int = 600, latent_dim: int = 200, dropout: float = 0.5,
                 anneal_cap: float = 0.2, anneal_steps: int = 200, **arguments: Any) -> None:
        super().__init__(hidden_dim, latent_dim, dropout, **arguments)
        self.anneal_cap, self.anneal_steps = anneal_cap, anneal_steps
