"""textedit-env: a Gymnasium environment for editing a text toward a reference.

``import textedit_env`` registers ``TextEdit-v0``; ``gym.make("textedit_env:TextEdit-v0")``
imports the package itself, so worker processes of vector environments need no import.
"""

from gymnasium.envs.registration import register, registry

__version__ = "0.1.0"

ENV_ID = "TextEdit-v0"
DEFAULT_MAX_EPISODE_STEPS = 50

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="textedit_env.env:TextEditEnv",
        max_episode_steps=DEFAULT_MAX_EPISODE_STEPS,
    )

__all__ = ["DEFAULT_MAX_EPISODE_STEPS", "ENV_ID", "__version__"]
