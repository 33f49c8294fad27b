"""Voice AI IVR: an AI virtual secretary for FreeSWITCH/FusionPBX."""

__version__ = "0.1.0"
