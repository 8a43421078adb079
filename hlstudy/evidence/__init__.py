"""The evidence behind each claim of the thesis (part III): the claims ledger, its verdict
rules and the importance–performance map.

* :func:`claims_ledger`, :func:`evaluate` — one row per claim of ``claims.csv`` with its
  evidence and computed verdict (:mod:`hlstudy.evidence.ledger`); :func:`claim_verdicts` —
  those verdicts for another table that shows the claims (notebook 04's findings);
  :func:`estimate_labels` — what each part's estimate is (by its ``kind``) and the scale it
  is read on (:data:`ESTIMATES`, :data:`SCALES`), for the verdict figure;
  :func:`contradictions` — where the data point against a claim (an estimate on the other
  side, an IPMA premise the map contradicts), whatever its verdict;
* :class:`Rules`, :func:`verdict`, :func:`descriptive_verdict`, :func:`adjust` — the rules,
  written once (:mod:`hlstudy.evidence.rules`, ``docs/evidence.md``);
* :func:`ipma`, :func:`ipma_table`, :func:`ipma_figure` — importance–performance map
  (Ringle & Sarstedt 2016; :mod:`hlstudy.evidence.ipma`).
"""

from hlstudy.evidence.ipma import (
    IPMAResult,
    ipma,
    ipma_figure,
    ipma_table,
    negative_constructs,
    rescale,
)
from hlstudy.evidence.ledger import (
    ESTIMATES,
    SCALES,
    LedgerResult,
    claim_verdicts,
    claims_ledger,
    commune_reversals,
    contradictions,
    estimate_labels,
    evaluate,
)
from hlstudy.evidence.rules import (
    VERDICTS,
    Rules,
    adjust,
    combine,
    descriptive_verdict,
    min_detectable,
    reversal_certainty,
    tost,
    verdict,
)

__all__ = ["ESTIMATES", "IPMAResult", "LedgerResult", "Rules", "SCALES", "VERDICTS", "adjust",
           "claim_verdicts", "claims_ledger", "commune_reversals", "contradictions", "estimate_labels",
           "combine", "descriptive_verdict", "evaluate", "ipma", "ipma_figure", "ipma_table",
           "min_detectable", "negative_constructs", "rescale", "reversal_certainty", "tost",
           "verdict"]
