"""Streaming calls: audio both ways, end of turn by VAD, barge-in (see ``contracts``)."""
