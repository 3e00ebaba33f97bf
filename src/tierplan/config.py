"""The coverage model: tiers, their motions and the attention-response curve.

Every figure here is a default a user can replace. Where a default comes
from practitioners' norms or from the literature, the source is written next
to it; where it is our own assumption, it says so.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tierplan.errors import ConfigError

__all__ = ["CoverageModel", "CoverageMotion", "Response", "Tier"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        # pydantic's ValidationError cannot join the TierplanError family, so
        # re-raise it as a ConfigError that keeps pydantic's field-by-field text.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(f"invalid {type(self).__name__}: {exc}") from exc


class CoverageMotion(_Frozen):
    """What a tier's coverage is in practice: owner, cadence and triggers.

    A tier without a written cadence, owner and escalation trigger is a label,
    not a motion (a common pitfall in CS segmentation), so every tier carries
    one as data that reports and exports can show.
    """

    owner: str = Field(description="Who owns the account in this tier.")
    cadence: str = Field(description="Standing engagement rhythm.")
    escalation_triggers: tuple[str, ...] = Field(
        default=(), description="Events that bring a human in (or escalate)."
    )
    renewal_lead_days: int = Field(
        default=90, ge=0, description="How many days before renewal the renewal motion starts."
    )
    plays: tuple[str, ...] = Field(default=(), description="Standard plays run in this tier.")


class Tier(_Frozen):
    """One coverage tier.

    Attributes
    ----------
    name
        Identifier used in frames (``tier1``).
    label
        Human-readable label (``Strategic (named CSM)``).
    human
        Whether CSMs own books in this tier; a tier without people
        (tech-touch) has no book caps and no headcount.
    attention_hours
        Standard CSM hours per account per year in this tier.
    min_book, max_book
        Accounts per CSM; ``max_book`` is ``None`` only for tiers without people.
    csm_cost
        Fully loaded yearly cost of one CSM in this tier (currency units).
    csm_hours
        Customer-facing hours per CSM per year. Default 1,200: about 1,800
        working hours of which practitioners report 30-40% go to internal
        work (meetings, enablement, reporting), not customers.
    account_cost
        Yearly coverage cost per account beyond CSM salaries (programs,
        travel, executive sponsor time, digital tooling); what a coverage
        ``budget`` counts.
    floor_hours
        Hours per account per year the tier's cadence always takes (a tier-1
        account always gets its QBRs), kept when attention is redistributed
        within a book.
    motion
        The coverage motion.
    """

    name: str = Field(min_length=1)
    label: str = ""
    human: bool = True
    attention_hours: float = Field(ge=0)
    min_book: int = Field(default=0, ge=0)
    max_book: int | None = Field(default=None, gt=0)
    csm_cost: float = Field(default=0.0, ge=0)
    csm_hours: float = Field(default=1200.0, gt=0)
    account_cost: float = Field(default=0.0, ge=0)
    floor_hours: float = Field(default=0.0, ge=0)
    motion: CoverageMotion | None = None

    @model_validator(mode="after")
    def _check_book(self) -> Self:
        if self.floor_hours > self.attention_hours:
            raise ValueError(
                f"tier '{self.name}': floor_hours {self.floor_hours} exceeds "
                f"attention_hours {self.attention_hours}"
            )
        if self.human and self.max_book is None:
            raise ValueError(f"tier '{self.name}': a tier with CSMs needs max_book")
        if self.max_book is not None and self.min_book > self.max_book:
            raise ValueError(
                f"tier '{self.name}': min_book {self.min_book} exceeds max_book {self.max_book}"
            )
        return self


class Response(_Frozen):
    r"""Concave, saturating response of NRR to CSM attention.

    ``impact(h) = S_i · f(h / k_i)`` with the stake
    ``S_i = arr·risk·save_max + potential·conv_max + strategic·strategic_value``,
    ``f(x) = 1 − exp(−x)`` and ``k_i = k_hours · (1 + complexity_i)``.

    The shape (concave, saturating) is the one of the classic sales-response
    models: Lodish's CALLPLAN (1971) and Little's ADBUDG (1970) found the
    response of sales to calls per account concave and saturating. The
    parameters are our assumptions, to be replaced by a company's own
    figures or by its own uplift model (pass a value matrix to ``plan``).
    """

    save_max: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description=(
            "Largest share of at-risk ARR that unlimited attention saves. "
            "Assumption: half of churn is preventable by CS (the rest is "
            "acquisitions, budget cuts, product fit)."
        ),
    )
    conv_max: float = Field(
        default=0.10,
        ge=0,
        le=1,
        description=(
            "Largest share of whitespace that unlimited attention converts in a year. Assumption."
        ),
    )
    k_hours: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Attention scale: hours per year that achieve 63% of the possible "
            "effect on an account of complexity 0. Assumption, chosen so a tier-1 "
            "account (60 h) is near saturation and a tier-2 account (10 h) is "
            "on the steep part of the curve."
        ),
    )
    strategic_value: float = Field(
        default=50_000.0,
        ge=0,
        description=(
            "Value, in ARR-equivalent currency, of one unit of 'strategic' "
            "weight (reference logo, design partner) fully served. Assumption."
        ),
    )


def _default_tiers() -> tuple[Tier, ...]:
    # Book sizes, hours and cadences: B2B SaaS norms (tier 1: 15-25 accounts,
    # 50-100 h/yr, monthly + quarterly QBR, renewal from 120 days out; tier 2:
    # 75-150 accounts, 5-15 h/yr, quarterly + triggered; tier 3: 500-2,000+
    # pooled, < 1 h/yr, automated). Costs (CSM and per account) are
    # placeholders: replace them with your own fully loaded figures.
    return (
        Tier(
            name="tier1",
            label="Strategic (named CSM)",
            human=True,
            attention_hours=60.0,
            min_book=0,
            max_book=20,
            csm_cost=160_000.0,
            csm_hours=1200.0,
            account_cost=2_500.0,
            floor_hours=24.0,  # 12 monthly check-ins of 1 h + 4 QBRs of 3 h
            motion=CoverageMotion(
                owner="named CSM",
                cadence="monthly check-in + quarterly QBR with the economic buyer",
                escalation_triggers=(
                    "health score drop",
                    "executive sponsor change",
                    "renewal within 120 days",
                ),
                renewal_lead_days=120,
                plays=("written success plan", "executive sponsor", "QBR"),
            ),
        ),
        Tier(
            name="tier2",
            label="Scaled (pooled CSM)",
            human=True,
            attention_hours=10.0,
            min_book=0,
            max_book=120,
            csm_cost=130_000.0,
            csm_hours=1200.0,
            account_cost=400.0,
            floor_hours=3.0,  # a quarterly touch of 45 minutes
            motion=CoverageMotion(
                owner="pooled CSM queue",
                cadence="quarterly + triggered",
                escalation_triggers=(
                    "health score drop",
                    "onboarding stall",
                    "usage cliff",
                    "renewal within 90 days",
                ),
                renewal_lead_days=90,
                plays=("one-to-many webinars", "office hours", "success templates"),
            ),
        ),
        Tier(
            name="tier3",
            label="Tech-touch (digital)",
            human=False,
            attention_hours=0.5,
            max_book=None,
            account_cost=25.0,
            motion=CoverageMotion(
                owner="digital CS program (no human owner)",
                cadence="automated lifecycle program",
                escalation_triggers=(
                    "health alert crosses threshold (borrowed by the pooled team)",
                ),
                renewal_lead_days=60,
                plays=("in-app onboarding", "milestone emails", "NPS/CSAT pulses", "community"),
            ),
        ),
    )


class CoverageModel(_Frozen):
    """Tiers, the response curve and allocation policies.

    Attributes
    ----------
    tiers
        Tiers from the highest touch to the lowest. Defaults: ``tier1``
        named CSM, ``tier2`` pooled CSM, ``tier3`` tech-touch.
    response
        The attention-response curve that turns tiers into value.
    require_specialist
        When a tier has specialists for a vertical, that vertical's accounts
        in that tier must go to them (not to the tier's generalists).

    Examples
    --------
    >>> import tierplan as tp
    >>> model = tp.CoverageModel()
    >>> [t.name for t in model.tiers]
    ['tier1', 'tier2', 'tier3']
    >>> model.tier("tier1").max_book
    20
    """

    tiers: tuple[Tier, ...] = Field(default_factory=_default_tiers, min_length=1)
    response: Response = Field(default_factory=Response)
    require_specialist: bool = False

    @model_validator(mode="after")
    def _check_tiers(self) -> Self:
        names = [t.name for t in self.tiers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"tiers: duplicate tier names {dupes}")
        return self

    @property
    def tier_names(self) -> list[str]:
        """Tier names, highest touch first."""
        return [t.name for t in self.tiers]

    def tier(self, name: str) -> Tier:
        """Return the tier called ``name``.

        Parameters
        ----------
        name
            A tier name.

        Returns
        -------
        Tier
            The tier.

        Raises
        ------
        KeyError
            If no tier has that name.
        """
        for t in self.tiers:
            if t.name == name:
                return t
        raise KeyError(f"unknown tier '{name}'; tiers are {self.tier_names}")

    def with_changes(self, **changes: object) -> CoverageModel:
        """Return a copy with some fields replaced (validated again).

        Parameters
        ----------
        **changes
            Field names and new values.

        Returns
        -------
        CoverageModel
            The new model.
        """
        data = self.model_dump()
        data.update(changes)
        return CoverageModel(**data)
