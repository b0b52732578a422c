"""LightGCN (He et al., SIGIR 2020) in TensorFlow / Keras 3. Twin: course_lib/torch/graph.py.

Shapes: U n_users, I n_items, N = U + I graph nodes, D embedding_dim, B batch, K n_layers.

The users and items are the nodes of one bipartite graph with the normalized adjacency
``A^ = D^-1/2 A D^-1/2`` (N, N), here a CSR matrix of ``tf.raw_ops`` (``tf.sparse.SparseTensor`` works too, slower). The layer-0 embeddings are
the only parameters; each layer averages the neighbours, ``E(k+1) = A^ E(k)``, and the final
embedding is the mean of ``E(0) .. E(K)``. ``n_layers=0`` is MF-BPR.
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.closed_form import normalized_adjacency
from course_lib.data.interactions import Interactions
from course_lib.sampling import sample_triplets
from course_lib.tf.training import TFRecommender, get_device, make_optimizer, minibatches, progress
from course_lib.validation import check_lightgcn_arguments

__all__ = ["propagate", "csr_adjacency", "sparse_matmul", "LightGCNNet", "LightGCN"]


def csr_adjacency(adjacency: tf.sparse.SparseTensor) -> tf.Tensor:
    """The same matrix in TensorFlow's CSR format (indices in row-major order): a faster product."""
    return tf.raw_ops.SparseTensorToCSRSparseMatrix(indices=adjacency.indices, values=adjacency.values,
                                                    dense_shape=adjacency.dense_shape)


def sparse_matmul(adjacency: tf.sparse.SparseTensor | tf.Tensor, dense: tf.Tensor) -> tf.Tensor:
    """``adjacency @ dense`` (N, D) for a symmetric (N, N) ``adjacency``, a SparseTensor or a CSR matrix.

    The CSR product is some twenty times faster on the CPU than ``tf.sparse.sparse_dense_matmul``;
    its gradient ``A^T @ dL/dY`` is ``A @ dL/dY`` since the graph is symmetric.
    """
    if isinstance(adjacency, tf.sparse.SparseTensor):
        return tf.sparse.sparse_dense_matmul(adjacency, dense)

    @tf.custom_gradient
    def product(x: tf.Tensor) -> tuple[tf.Tensor, Any]:
        def backward(upstream: tf.Tensor) -> tf.Tensor:
            return tf.raw_ops.SparseMatrixMatMul(a=adjacency, b=upstream)
        return tf.raw_ops.SparseMatrixMatMul(a=adjacency, b=x), backward

    return product(dense)


def propagate(adjacency: tf.sparse.SparseTensor | tf.Tensor, embeddings: tf.Tensor, n_layers: int) -> tf.Tensor:
    """The mean of ``E(0) = embeddings`` and ``E(k+1) = adjacency @ E(k)`` for k < n_layers: (N, D)."""
    layers = [embeddings]                                                  # E(0), (N, D)
    for _ in range(n_layers):
        layers.append(sparse_matmul(adjacency, layers[-1]))                # (N, D)
    return tf.reduce_mean(tf.stack(layers), axis=0)                        # (N, D)


class LightGCNNet(keras.Model):
    """The layer-0 embeddings of users and items, and the propagation over the graph."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, n_layers: int, seed: int) -> None:
        super().__init__()
        self.n_users, self.n_layers = n_users, n_layers
        self.user_embeddings = self.add_weight(
            shape=(n_users, embedding_dim), name="user_embeddings",
            initializer=keras.initializers.RandomNormal(stddev=0.1, seed=seed))
        self.item_embeddings = self.add_weight(
            shape=(n_items, embedding_dim), name="item_embeddings",
            initializer=keras.initializers.RandomNormal(stddev=0.1, seed=seed + 1))

    def call(self, adjacency: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        layer0 = tf.concat([self.user_embeddings, self.item_embeddings], axis=0)  # (N, D)
        final = propagate(adjacency, layer0, self.n_layers)                       # (N, D)
        return final[:self.n_users], final[self.n_users:]                         # (U, D), (I, D)


class LightGCN(TFRecommender):
    """LightGCN trained with BPR and Adam; ``n_layers=0`` gives MF-BPR.

    The same arguments, loss and weight names as the PyTorch twin: see its docstring.
    """

    def __init__(self, embedding_dim: int = 64, n_layers: int = 3, learning_rate: float = 5e-2,
                 l2_weight: float = 2e-3, batch_size: int = 8192, epochs: int = 30, edge_dropout: float = 0.0,
                 seed: int = 0, device: Any = None) -> None:
        self.embedding_dim, self.n_layers = embedding_dim, n_layers
        self.learning_rate, self.l2_weight = learning_rate, l2_weight
        self.batch_size, self.epochs, self.edge_dropout = batch_size, epochs, edge_dropout
        self.seed, self.device = seed, device

    # ------------------------------------------------------------------ set-up
    def _build(self, train: Interactions) -> Interactions:
        check_lightgcn_arguments(self)
        device = get_device(self.device)
        train = self._start_fit(train)
        self.device_ = device
        self.rng_ = np.random.default_rng(self.seed)
        graph = normalized_adjacency(train).astype(np.float32).tocsr().tocoo()  # sorted (row, col)
        self.graph_indices_ = np.stack([graph.row, graph.col], axis=1).astype(np.int64)  # (E, 2)
        self.graph_values_ = graph.data                                                  # (E,)
        self.graph_shape_ = graph.shape
        with tf.device(self.device_):
            self.adjacency_ = self._sparse(self.graph_indices_, self.graph_values_)
            self.network_ = LightGCNNet(train.n_users, train.n_items, int(self.embedding_dim),
                                        int(self.n_layers), int(self.seed))
        self._final = None
        self._step = None
        return train

    def _forward(self, adjacency: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        # Keras' __call__ refuses a CSR matrix (a variant tensor): call() itself takes it.
        return self.network_.call(adjacency)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embeddings": (self.network_.user_embeddings, False),
                "item_embeddings": (self.network_.item_embeddings, False)}

    def _sparse(self, indices: Any, values: Any) -> tf.Tensor:
        return csr_adjacency(tf.sparse.SparseTensor(indices, values, self.graph_shape_))

    def _training_graph(self) -> tuple[np.ndarray, np.ndarray]:
        if self.edge_dropout == 0:
            return self.graph_indices_, self.graph_values_
        keep = self.rng_.random(len(self.graph_values_)) >= self.edge_dropout   # the same draw as the twin
        return self.graph_indices_[keep], self.graph_values_[keep] / np.float32(1 - self.edge_dropout)

    # ---------------------------------------------------------------- the loss
    def _loss(self, adjacency: tf.Tensor, users: tf.Tensor, positives: tf.Tensor,
              negatives: tf.Tensor) -> tf.Tensor:
        user_final, item_final = self._forward(adjacency)                 # (U, D), (I, D)
        u = tf.gather(user_final, users)                                   # (B, D)
        i, j = tf.gather(item_final, positives), tf.gather(item_final, negatives)  # (B, D)
        margin = tf.reduce_sum(u * i, -1) - tf.reduce_sum(u * j, -1)       # (B,)
        net = self.network_
        layer0 = (tf.reduce_sum(tf.square(tf.gather(net.user_embeddings, users)))
                  + tf.reduce_sum(tf.square(tf.gather(net.item_embeddings, positives)))
                  + tf.reduce_sum(tf.square(tf.gather(net.item_embeddings, negatives))))
        batch = tf.cast(tf.shape(users)[0], tf.float32)
        return tf.reduce_mean(tf.nn.softplus(-margin)) + self.l2_weight * layer0 / (2.0 * batch)

    def _gradients(self, adjacency: tf.Tensor, users: Any, positives: Any,
                   negatives: Any) -> tuple[tf.Tensor, list]:
        with tf.GradientTape() as tape:
            loss = self._loss(adjacency, users, positives, negatives)
        return loss, tape.gradient(loss, self.network_.trainable_variables)

    def _batch(self, *arrays: Any) -> list[tf.Tensor]:
        return [tf.convert_to_tensor(np.asarray(a), dtype=tf.int64) for a in arrays]

    def loss_on_batch(self, users: Any, positives: Any, negatives: Any) -> float:
        """The loss of one batch of triplets on the whole graph (no edge dropout)."""
        self._check_fitted()
        with tf.device(self.device_):
            return float(self._loss(self.adjacency_, *self._batch(users, positives, negatives)))

    def sgd_step(self, users: Any, positives: Any, negatives: Any, learning_rate: float) -> None:
        """One plain gradient step on one batch (no edge dropout): for the parity tests."""
        self._check_fitted()
        with tf.device(self.device_):
            _, gradients = self._gradients(self.adjacency_, *self._batch(users, positives, negatives))
            for variable, gradient in zip(self.network_.trainable_variables, gradients, strict=True):
                variable.assign_sub(learning_rate * tf.convert_to_tensor(gradient))
        self._final = None

    def optimizer_step(self, users: Any, positives: Any, negatives: Any) -> float:
        """One step of the model's own optimizer on one batch, on the whole graph (no edge dropout);
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        with tf.device(self.device_):
            loss, gradients = self._gradients(self.adjacency_, *self._batch(users, positives, negatives))
            self.optimizer_.apply_gradients(zip(gradients, self.network_.trainable_variables, strict=True))
        self._final = None
        return float(loss)

    # ---------------------------------------------------------------- training
    def fit(self, train: Interactions, show_progress: bool = True) -> LightGCN:
        train = self._build(train)
        self.optimizer_ = optimizer = make_optimizer("adam", self.learning_rate)  # the PyTorch twin's Adam (course_lib.optim)
        variables = self.network_.trainable_variables

        @tf.function(reduce_retracing=True)
        def step(indices: tf.Tensor, values: tf.Tensor, users: tf.Tensor, positives: tf.Tensor,
                 negatives: tf.Tensor) -> tf.Tensor:
            loss, gradients = self._gradients(self._sparse(indices, values), users, positives, negatives)
            optimizer.apply_gradients(zip(gradients, variables, strict=True))
            return loss

        self.history_ = {"loss": []}
        self.epoch_seconds_: list[float] = []
        with tf.device(self.device_):
            for _ in progress(range(int(self.epochs)), show_progress, f"LightGCN (K={self.n_layers}, TF)"):
                started = time.perf_counter()
                users, positives, negatives = sample_triplets(train, seed=self.rng_)
                total = 0.0
                for batch in minibatches(len(users), int(self.batch_size)):
                    indices, values = self._training_graph()
                    loss = step(tf.constant(indices), tf.constant(values),
                                *self._batch(users[batch], positives[batch], negatives[batch]))
                    total += float(loss) * len(batch)
                self.history_["loss"].append(total / len(users))
                self.epoch_seconds_.append(time.perf_counter() - started)
        self._final = None
        return self

    # ----------------------------------------------------------------- scoring
    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        with tf.device(self.device_):
            if self._final is None:  # the propagation runs once, then serves every batch of users
                self._final = self._forward(self.adjacency_)
            user_final, item_final = self._final
            return tf.matmul(tf.gather(user_final, user_ids), item_final, transpose_b=True).numpy()  # (B, I)

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        super().set_weights(weights)
        self._final = None
