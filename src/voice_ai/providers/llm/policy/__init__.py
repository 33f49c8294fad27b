"""The built-in dialog policy (see :mod:`voice_ai.providers.llm.policy.dialog`)."""

from voice_ai.providers.llm.policy.dialog import DialogPolicyLLM, PolicySettings

__all__ = ["DialogPolicyLLM", "PolicySettings"]
