"""LightGCN (He et al., SIGIR 2020) in TensorFlow / Keras 3. Twin: course_lib/torch/graph.py.

Shapes: U n_users, I n_items, N = U + I graph nodes, D embedding_dim, B batch, K n_layers.

The users and items are the nodes of one bipartite graph with the normalized adjacency
``A^ = D^-1/2 A D^-1/2`` (N, N), here a CSR matrix of ``tf.raw_ops`` (``tf.sparse.SparseTensor``
works too, slower). The layer-0 embeddings are the only parameters; each layer averages the
neighbours, ``E(k+1) = A^ E(k)``, and the final embedding is the mean of ``E(0) .. E(K)``.
``n_layers=0`` is MF-BPR.

The framework-free half (arguments, graph, triplets and edge dropout, scoring, validation) is in
course_lib/graph_base.py, the loop in course_lib/training_loop.py; here: the network and the loss.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.graph_base import LightGCNBase
from course_lib.tf.training import TFSteps, get_device

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

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embeddings": (self.user_embeddings, False), "item_embeddings": (self.item_embeddings, False)}


class LightGCN(LightGCNBase, TFSteps):
    """LightGCN trained with BPR; ``n_layers=0`` gives MF-BPR. The arguments, loss and weight names
    of the PyTorch twin (``course_lib.graph_base.LightGCNBase``); ``device`` is a TensorFlow device string."""

    def _build(self, train: Any) -> None:
        self.device_ = get_device(self.device)
        graph = self.graph_.tocoo()                                       # row-major: graph_ is a sorted CSR
        with tf.device(self.device_):
            self.graph_indices_ = tf.constant(np.stack([graph.row, graph.col], axis=1).astype(np.int64))  # (E, 2)
            self.graph_values_ = tf.constant(graph.data, tf.float32)                                     # (E,)
        super()._build(train)

    def _network(self, train: Any) -> keras.Model:
        return LightGCNNet(self.n_users_, self.n_items_, int(self.embedding_dim), int(self.n_layers), int(self.seed))

    def _dummy_batch(self) -> dict[str, np.ndarray]:
        return {key: np.zeros(1, np.int64) for key in ("users", "positives", "negatives")}

    def _sparse(self, values: tf.Tensor) -> tf.Tensor:
        """The graph with these (E,) values, in the CSR order of ``graph_``, as a CSR matrix. Built in
        each step: a CSR matrix made outside a ``tf.function`` reaches it without its shape."""
        return csr_adjacency(tf.sparse.SparseTensor(self.graph_indices_, values, self.graph_.shape))

    def _penalty(self) -> tf.Tensor:
        return tf.zeros(())  # the loss carries its own L2 term (on the batch)

    def _batch_loss(self, batch: dict[str, tf.Tensor], training: bool) -> tf.Tensor:
        values = self.graph_values_
        if training and "edge_values" in batch:  # edge dropout: the graph of this step
            values = tf.cast(batch["edge_values"], tf.float32)
        adjacency = self._sparse(values)
        users, positives, negatives = batch["users"], batch["positives"], batch["negatives"]
        # Keras' __call__ refuses a CSR matrix (a variant tensor): call() itself takes it.
        user_final, item_final = self.network_.call(adjacency)            # (U, D), (I, D)
        u = tf.gather(user_final, users)                                   # (B, D)
        i, j = tf.gather(item_final, positives), tf.gather(item_final, negatives)  # (B, D)
        margin = tf.reduce_sum(u * i, -1) - tf.reduce_sum(u * j, -1)       # (B,)
        net = self.network_
        layer0 = (tf.reduce_sum(tf.square(tf.gather(net.user_embeddings, users)))
                  + tf.reduce_sum(tf.square(tf.gather(net.item_embeddings, positives)))
                  + tf.reduce_sum(tf.square(tf.gather(net.item_embeddings, negatives))))
        size = tf.cast(tf.shape(users)[0], tf.float32)
        return tf.reduce_mean(tf.nn.softplus(-margin)) + self.l2 * layer0 / (2.0 * size)
