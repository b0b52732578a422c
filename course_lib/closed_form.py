"""Closed-form recommenders in NumPy/SciPy, no framework needed: EASE^R and GF-CF.

Letters: U n_users, I n_items (the catalogue), B users in a batch, K singular vectors kept.
``X`` is the (U, I) user-item matrix, ``G = X^T X`` its (I, I) Gram matrix.

The PyTorch and TensorFlow twins of EASE (``course_lib.torch.ease``, ``course_lib.tf.ease``)
share the input preparation and the memory check of this module and solve the same system with
their framework's linear algebra; LightGCN (``course_lib.torch.graph``) uses the normalized
adjacency built here, whose user-item block is also the matrix GF-CF filters.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg import get_lapack_funcs
from scipy.sparse.linalg import svds

from course_lib.base import Recommender, check_interactions
from course_lib.data.interactions import Interactions
from course_lib.validation import check_integer, check_number, singular_system_error

__all__ = [
    "EASE", "GFCF", "CatalogueTooLargeError", "available_memory_bytes", "ease_memory_bytes",
    "check_dense_memory", "check_ease_system", "check_ease_inverse", "ease_inputs", "ease_from_gram", "inverse_sqrt_degrees", "normalized_interactions",
    "normalized_adjacency", "gfcf_scores",
]

# Dense (I, I) matrices alive at the peak of an EASE fit: G (+ lambda I), its inverse P and the
# workspace of the inverse; B is computed in place of P.
EASE_DENSE_COPIES = 3


class CatalogueTooLargeError(MemoryError):
    """A dense (n_items, n_items) model would not fit in memory; raised before allocating."""


def available_memory_bytes() -> int | None:
    """Memory this process could still allocate: psutil's ``available``, else /proc/meminfo, else sysconf."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None  # unknown (Windows without psutil): no check


def ease_memory_bytes(n_items: int, dtype: Any = np.float64, copies: int = EASE_DENSE_COPIES) -> int:
    """Bytes of the dense (n_items, n_items) matrices an EASE fit holds at once."""
    return int(copies) * int(n_items) ** 2 * np.dtype(dtype).itemsize


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.2f} GiB"


def check_dense_memory(n_items: int, dtype: Any = np.float64, max_memory_bytes: int | None = None,
                       copies: int = EASE_DENSE_COPIES, where: str = "this machine") -> int:
    """Raise ``CatalogueTooLargeError`` when ``copies`` dense (I, I) matrices would not fit.

    ``max_memory_bytes`` caps the memory allowed; by default it is the memory available now.
    Returns the estimated bytes.
    """
    needed = ease_memory_bytes(n_items, dtype, copies)
    limit = available_memory_bytes() if max_memory_bytes is None else int(max_memory_bytes)
    if limit is not None and needed > limit:
        one = ease_memory_bytes(n_items, dtype, 1)
        raise CatalogueTooLargeError(
            f"A dense model of {n_items:,} items needs about {_gib(needed)} ({copies} matrices of "
            f"{n_items:,} x {n_items:,} {np.dtype(dtype).name}, {_gib(one)} each), but {where} allows "
            f"{_gib(limit)}. Use float32, keep the most popular items only, or use a sparse or "
            "low-rank model (ItemKNN, GF-CF, matrix factorization) for a catalogue this large."
        )
    return needed


def _check_positive(name: str, value: Any, allow_zero: bool = False) -> float:
    return check_number(name, value, minimum=0.0, minimum_open=not allow_zero)


def check_ease_system(gram: np.ndarray, l2: float, dtype: Any) -> None:
    """Refuse, before solving, a system ``G + l2 I`` that is singular at ``dtype``'s precision.

    ``G = X^T X`` is positive semi-definite, so the eigenvalues of ``G + lambda I`` lie between
    ``lambda`` and ``lambda + |G|_inf``: when ``(|G|_inf + lambda) / lambda`` reaches ``1 / eps``
    the inverse is noise. The same test runs in the NumPy, PyTorch and TensorFlow EASE, so the
    three refuse the same systems with the same :class:`~course_lib.validation.SingularSystemError`.
    """
    n_items = gram.shape[0]
    norm = float(np.abs(gram).sum(axis=1).max(initial=0.0))
    eps = float(np.finfo(np.dtype(dtype)).eps)
    if l2 <= 0:
        raise singular_system_error(l2, n_items, "l2 is not positive")
    if (norm + l2) * eps >= l2:
        raise singular_system_error(l2, n_items, f"condition number up to {(norm + l2) / l2:.1e}",
                                    np.dtype(dtype).name)


def check_ease_inverse(diagonal: np.ndarray, finite: bool, l2: float) -> None:
    """After solving: the inverse of a positive definite matrix has a positive finite diagonal."""
    diagonal = np.asarray(diagonal)
    if not finite or not (np.isfinite(diagonal).all() and (diagonal > 0).all()):
        raise singular_system_error(l2, len(diagonal), "the inverse has non-finite or non-positive entries")


def ease_inputs(train: Interactions, normalize_rows: bool = False, normalize_columns: bool = False,
                dtype: Any = np.float64) -> tuple[sp.csr_matrix, np.ndarray]:
    """The (U, I) input matrix ``X`` (binary, optionally normalized) and its dense Gram matrix ``X^T X``.

    ``normalize_rows`` divides each user's row by its L2 norm (the square root of the user's
    count), so heavy users weigh less in the Gram matrix; ``normalize_columns`` then divides each
    item's column by its L2 norm, so popular items weigh less (the Gram matrix becomes a cosine
    matrix). The Gram matrix is a sparse product, cheap next to the (I, I) inverse.
    """
    matrix = train.to_csr(binary=True).astype(dtype)                       # (U, I)
    if normalize_rows:
        counts = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
        matrix = sp.csr_matrix(sp.diags(inverse_sqrt_degrees(counts)) @ matrix)
    if normalize_columns:
        counts = np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel()
        matrix = sp.csr_matrix(matrix @ sp.diags(inverse_sqrt_degrees(counts)))
    gram = (matrix.T @ matrix).toarray()                                    # (I, I)
    return matrix, gram


def symmetric_positive_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix, through its Cholesky factor.

    LAPACK's ``potrf`` (``A = U^T U``) and ``potri`` (``A^-1`` from ``U``) take about half the
    floating-point work of the LU inverse behind ``np.linalg.inv``. ``matrix`` is left as it is;
    one that is not numerically positive definite falls back to ``np.linalg.inv``.
    """
    potrf, potri = get_lapack_funcs(("potrf", "potri"), (matrix,))
    factor, info = potrf(matrix, lower=False, overwrite_a=False, clean=False)
    if info != 0:  # not positive definite after all: the general inverse
        return np.linalg.inv(matrix)
    inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"the Cholesky inverse failed (LAPACK potri info={info}).")
    upper = np.triu(inverse)                                                # only the upper triangle is set
    upper += np.triu(inverse, 1).T
    return upper


def ease_from_gram(gram: np.ndarray, l2: float) -> np.ndarray:
    """EASE's (I, I) weights from the Gram matrix: ``P = (G + lambda I)^-1``, ``B = I - P / diag(P)``.

    Minimizing ``|X - X B|^2 + lambda |B|^2`` subject to ``diag(B) = 0`` with Lagrange multipliers
    gives ``B_ij = -P_ij / P_jj`` off the diagonal and 0 on it (Steck 2019, eq. 8).
    """
    check_ease_system(gram, l2, gram.dtype)
    regularized = np.array(gram, copy=True)
    regularized[np.diag_indices_from(regularized)] += l2
    try:
        weights = symmetric_positive_inverse(regularized)                   # P, (I, I)
    except np.linalg.LinAlgError as error:
        raise singular_system_error(l2, len(gram), str(error)) from error
    check_ease_inverse(np.diag(weights), bool(np.isfinite(weights).all()), l2)
    weights /= -np.diag(weights)[None, :]                                   # column j divided by -P_jj
    weights[np.diag_indices_from(weights)] = 0.0
    return weights


def _dtype_name(dtype: Any) -> str:
    try:
        return np.dtype(dtype).name
    except TypeError:
        return ""


class EASE(Recommender):
    """EASE^R, the embarrassingly shallow autoencoder (Steck, WWW 2019), in closed form.

    An item-item linear model: a user's scores are ``s_u = x_u B`` with ``B`` (I, I) minimizing
    ``|X - X B|_F^2 + lambda |B|_F^2`` subject to ``diag(B) = 0`` (an item may not predict itself).
    The solution is ``P = (X^T X + lambda I)^-1`` and ``B = I - P diag(1 / diag(P))``.

    Parameters
    ----------
    l2:
        lambda, added to the diagonal of the Gram matrix (500 suits MovieLens 100K).
    normalize_rows, normalize_columns:
        Divide the rows (users) and then the columns (items) of ``X`` by their L2 norm before the
        fit; the scores use the same normalized rows.
    dtype:
        ``numpy.float64`` (default) or ``numpy.float32`` (half the memory).
    max_memory_bytes:
        The memory the dense fit may use; by default the memory available now. A catalogue that
        would need more raises ``CatalogueTooLargeError`` before anything large is allocated.
    """

    def __init__(self, l2: float = 500.0, normalize_rows: bool = False, normalize_columns: bool = False,
                 dtype: Any = np.float64, max_memory_bytes: int | None = None) -> None:
        self.l2 = l2
        self.normalize_rows = normalize_rows
        self.normalize_columns = normalize_columns
        self.dtype = dtype
        self.max_memory_bytes = max_memory_bytes

    def _validate(self, train: Interactions) -> Interactions:
        _check_positive("l2", self.l2)
        if _dtype_name(self.dtype) not in ("float32", "float64"):
            raise ValueError(f"`dtype` must be float32 or float64, got dtype={self.dtype!r}.")
        train = self._start_fit(train)
        self.memory_bytes_ = check_dense_memory(train.n_items, self.dtype, self.max_memory_bytes)
        return train

    def fit(self, train: Interactions) -> EASE:
        train = self._validate(train)
        self.user_items_, gram = ease_inputs(train, self.normalize_rows, self.normalize_columns, self.dtype)
        self.item_weights_ = ease_from_gram(gram, float(self.l2)).astype(self.dtype, copy=False)
        return self

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        return np.asarray(self.user_items_[user_ids] @ self.item_weights_)   # (B, I)

    def get_weights(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {"item_weights": self.item_weights_.copy()}


def inverse_sqrt_degrees(degrees: np.ndarray) -> np.ndarray:
    """``d ** -0.5`` with 0 where ``d`` is 0 (an isolated node keeps a zero row)."""
    degrees = np.asarray(degrees, dtype=np.float64)
    result = np.zeros_like(degrees)
    np.power(degrees, -0.5, out=result, where=degrees > 0)
    return result


def normalized_interactions(train: Interactions | sp.spmatrix) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """``R~ = D_U^-1/2 R D_I^-1/2`` of the binary (U, I) matrix ``R``, and the degrees (U,), (I,)."""
    matrix = train.to_csr(binary=True) if isinstance(train, Interactions) else sp.csr_matrix(train)
    matrix = matrix.astype(np.float64)
    user_degrees = np.asarray(matrix.sum(axis=1)).ravel()
    item_degrees = np.asarray(matrix.sum(axis=0)).ravel()
    normalized = sp.diags(inverse_sqrt_degrees(user_degrees)) @ matrix @ sp.diags(inverse_sqrt_degrees(item_degrees))
    return sp.csr_matrix(normalized), user_degrees, item_degrees


def normalized_adjacency(train: Interactions | sp.spmatrix) -> sp.coo_matrix:
    """LightGCN's (U + I, U + I) graph ``A^ = D^-1/2 A D^-1/2`` with ``A = [[0, R], [R^T, 0]]``.

    Users are nodes 0..U-1, items U..U+I-1. Its off-diagonal block is ``normalized_interactions``.
    """
    normalized = normalized_interactions(train)[0]
    return sp.bmat([[None, normalized], [normalized.T, None]], format="coo")


class GFCF(Recommender):
    """GF-CF, graph filtering for collaborative filtering (Shen et al., CIKM 2021), in closed form.

    With ``R~ = D_U^-1/2 R D_I^-1/2`` the normalized interactions and ``V`` (I, K) its top ``K``
    right singular vectors, a user's scores are
    ``s_u = r_u R~^T R~  +  alpha  r_u D_I^-1/2 V V^T D_I^1/2``:
    a linear filter (the normalized item-item matrix) plus an ideal low-pass filter that keeps
    only the K smoothest graph signals. No training: one sparse product and one truncated SVD.

    Parameters
    ----------
    n_components:
        K, the singular vectors the ideal low-pass filter keeps.
    ideal_filter_weight:
        alpha, the weight of the ideal low-pass filter (0: the linear filter alone).
    seed:
        Start vector of the truncated SVD (``scipy.sparse.linalg.svds``).
    max_memory_bytes:
        The dense (I, I) item-item matrix must fit; see ``EASE``.
    """

    def __init__(self, n_components: int = 64, ideal_filter_weight: float = 0.3, seed: int = 0,
                 max_memory_bytes: int | None = None) -> None:
        self.n_components = n_components
        self.ideal_filter_weight = ideal_filter_weight
        self.seed = seed
        self.max_memory_bytes = max_memory_bytes

    def fit(self, train: Interactions) -> GFCF:
        _check_positive("ideal_filter_weight", self.ideal_filter_weight, allow_zero=True)
        train = check_interactions(train)
        k = check_integer("n_components", self.n_components, minimum=1, maximum=min(train.shape) - 1)
        memory_bytes = check_dense_memory(train.n_items, np.float64, self.max_memory_bytes, copies=2)
        train = self._start_fit(train)
        self.memory_bytes_ = memory_bytes
        self.user_items_ = train.to_csr(binary=True).astype(np.float64)                  # (U, I)
        self.normalized_, _, self.item_degrees_ = normalized_interactions(self.user_items_)
        self.item_item_ = (self.normalized_.T @ self.normalized_).toarray()             # (I, I)
        # PROPACK (Lanczos bidiagonalization) is several times faster than ARPACK here.
        _, _, vt = svds(self.normalized_, k=int(k), solver="propack", random_state=self.seed)  # (K, I)
        self.item_vectors_ = np.ascontiguousarray(vt.T)                                  # (I, K)
        return self

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        return gfcf_scores(self.user_items_[user_ids], self.item_item_, self.item_vectors_, self.item_degrees_,
                           self.ideal_filter_weight)


def gfcf_scores(user_items: Any, item_item: Any, item_vectors: np.ndarray, item_degrees: np.ndarray,
                ideal_filter_weight: float) -> np.ndarray:
    """GF-CF's (B, I) scores: ``r_u P~ + alpha r_u D_I^-1/2 V V^T D_I^1/2``.

    ``user_items`` (B, I) holds the users' rows of ``R`` (dense or sparse), ``item_item`` the
    (I, I) linear filter ``P~ = R~^T R~`` (dense or sparse), ``item_vectors`` ``V`` (I, K),
    ``item_degrees`` the (I,) item degrees of ``D_I``.
    """
    rows = sp.csr_matrix(user_items)                                                     # (B, I)
    linear = np.asarray(rows @ item_item)                                                # (B, I)
    scaled = rows @ sp.diags(inverse_sqrt_degrees(item_degrees))                         # r_u D_I^-1/2
    projected = np.asarray(scaled @ item_vectors)                                        # (B, K)
    ideal = (projected @ item_vectors.T) * np.sqrt(np.asarray(item_degrees, dtype=np.float64))[None, :]  # (B, I)
    return linear + ideal_filter_weight * ideal
