"""Reference agents for TextEdit-v0: tabular Q-learning, DQN, and the ``textedit`` command."""
