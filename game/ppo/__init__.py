"""PPO in numpy on the simulator's batch envs (see `game.ppo.trainer`)."""

from game.ppo.trainer import PPO, BatchVecEnv, PPOConfig

__all__ = ["PPO", "BatchVecEnv", "PPOConfig"]
