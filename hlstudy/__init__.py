"""hlstudy: research compendium for a thesis on commune-level officials in Huu Lung, Lang Son."""

__version__ = "0.1.0"
