"""The interactive preview app: window and loop (app), panel, viewer maths, UI state, HUD.

``state``, ``viewer`` and ``settings_store`` are plain Python (no window, no GL) so they are
tested directly; ``app``, ``panel`` and ``hud`` need glfw and imgui-bundle.
"""
