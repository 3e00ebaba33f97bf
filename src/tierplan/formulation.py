"""The pool program, built from arrays.

One binary ``x[i, p]`` per account and eligible pool; one row per account
(exactly one pool) and one row per pool with a cap or a minimum. Nothing
per CSM: books are split afterwards (:mod:`tierplan.books`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from tierplan.mip import ArrayProgram

__all__ = ["PoolProgram", "SideRow", "build_pool_program"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class SideRow:
    """A side constraint ``Σ account_coef[i] · pool_coef[p] · x[i, p] <= upper``.

    Side constraints break the transportation structure (hours against CSM
    time, a coverage budget), so a program with any goes to the MIP path.

    Attributes
    ----------
    name
        What the row limits, in business words (``"hours of tier1 finance"``).
    account_coef
        Per-account factor (e.g. ``1 + complexity``).
    pool_coef
        Per-pool factor (e.g. the tier's hours; 0 where the row does not apply).
    upper
        The limit.
    pair_coef
        Optional full coefficient matrix (accounts × pools) for rows that
        do not factor (a move budget depends on the account's current tier
        and the pool's tier together); overrides the two factors.
    """

    name: str
    account_coef: FloatArray
    pool_coef: FloatArray
    upper: float
    pair_coef: FloatArray | None = None

    def matrix(self) -> FloatArray:
        """Coefficient of every (account, pool) pair (accounts × pools)."""
        if self.pair_coef is not None:
            return self.pair_coef
        return np.asarray(self.account_coef[:, None] * self.pool_coef[None, :])


@dataclass(frozen=True, eq=False)
class PoolProgram:
    """The pool program and the map from its columns back to (account, pool).

    Attributes
    ----------
    program
        The array program.
    account
        Account index of each column.
    pool
        Pool index of each column.
    """

    program: ArrayProgram
    account: IntArray
    pool: IntArray

    def choice(self, x: FloatArray, n_accounts: int) -> IntArray:
        """Pool chosen per account from a solution vector.

        Parameters
        ----------
        x
            Column values (0/1).
        n_accounts
            Number of accounts.

        Returns
        -------
        numpy.ndarray
            Pool index per account.
        """
        chosen = x > 0.5
        out = np.full(n_accounts, -1, dtype=np.int64)
        out[self.account[chosen]] = self.pool[chosen]
        return out


def build_pool_program(
    pool_values: FloatArray,
    eligible: BoolArray,
    capacity: FloatArray,
    minimum: IntArray,
    side: tuple[SideRow, ...] = (),
) -> PoolProgram:
    """Build the pool program from arrays.

    Parameters
    ----------
    pool_values
        Value of each account in each pool (accounts × pools).
    eligible
        Which (account, pool) pairs are allowed.
    capacity
        Most accounts per pool (``inf`` = no cap).
    minimum
        Fewest accounts per pool.
    side
        Side constraints.

    Returns
    -------
    PoolProgram
        The program, maximizing total value.
    """
    n, n_pools = eligible.shape
    flat = np.flatnonzero(eligible.ravel())
    account = (flat // n_pools).astype(np.int64)
    pool = (flat % n_pools).astype(np.int64)
    m = flat.shape[0]
    objective = pool_values.ravel()[flat]
    capped = np.flatnonzero(np.isfinite(capacity) | (minimum > 0))
    row_of_pool = np.full(n_pools, -1, dtype=np.int64)
    row_of_pool[capped] = n + np.arange(capped.shape[0])
    cap_cols = np.flatnonzero(row_of_pool[pool] >= 0)
    rows = [account, row_of_pool[pool[cap_cols]]]
    cols = [np.arange(m), cap_cols]
    data = [np.ones(m), np.ones(cap_cols.shape[0])]
    first_side = n + capped.shape[0]
    for k, row in enumerate(side):
        coef = (
            row.pair_coef[account, pool]
            if row.pair_coef is not None
            else row.account_coef[account] * row.pool_coef[pool]
        )
        nz = np.flatnonzero(coef)
        rows.append(np.full(nz.shape[0], first_side + k))
        cols.append(nz)
        data.append(coef[nz])
    matrix = sp.csr_array(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(first_side + len(side), m),
    )
    row_lower = np.concatenate(
        [np.ones(n), minimum[capped].astype(np.float64), np.full(len(side), -np.inf)]
    )
    row_upper = np.concatenate(
        [np.ones(n), capacity[capped], np.array([r.upper for r in side], dtype=np.float64)]
    )
    program = ArrayProgram.binary(objective, matrix, row_lower, row_upper)
    return PoolProgram(program=program, account=account, pool=pool)
