"""Subject tracking for focus: click a subject once, its focus distance follows it (issue 15).

Pure numpy + OpenCV (``cv2``): no GL here. ``tracker`` follows one subject from frame to frame
with optical flow gated by depth, ``subject_depth`` turns the tracked region's depth into a
robust, lag-free focus distance, ``frames`` reads working-resolution luma + inverse depth,
``session`` runs anchors forward and backward and merges re-anchors, ``job`` runs it on a worker
thread and ``take`` commits the result into a pull as a take. See docs/tracking.md.
"""
