"""Wrappers that present ``TextEdit-v0`` in the layouts other libraries and agents read."""

from textedit_env.wrappers.action_gains import ActionGains, action_gains, gain_arrays, headroom  # noqa: F401
from textedit_env.wrappers.masks import FlatObservation, MaskInObservation  # noqa: F401
from textedit_env.wrappers.start_at_reference import StartAtReference  # noqa: F401
from textedit_env.wrappers.text_commands import TextCommands, command_for, format_prompt, parse_command  # noqa: F401
