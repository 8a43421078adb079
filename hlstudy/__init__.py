"""hlstudy: research compendium for a thesis on commune-level officials in Huu Lung, Lang Son."""

__version__ = "0.1.0"

from hlstudy.errors import SurveyDataError  # noqa: E402
from hlstudy.study import Study, load_study  # noqa: E402

__all__ = ["Study", "SurveyDataError", "load_study"]
