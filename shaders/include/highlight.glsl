// Clipped highlights of display-referred input: how far a pixel is into the clipped range.
// downsample.frag re-expands clipped pixels for the half-res layers (with the gain damped for
// large clipped surfaces and the hue recovered); lit.frag applies the same damped gain (from
// downsample.frag's per-block output) for the full-resolution gathers of slight defocus.
// Needs common.glsl.

// The brightest channel in display encoding: the highlight threshold is a display level.
float display_peak(vec3 lin) {
    // One channel's encoding (linear_to_srgb of a vec3 would take three powers).
    float c = clamp(max(lin.r, max(lin.g, lin.b)), 0.0, 1.0);
    return c <= 0.0031308 ? c * 12.92 : 1.055 * pow(c, 1.0 / 2.4) - 0.055;
}

// 0 below the threshold (a display level), 1 at full clip.
float clip_ramp(vec3 lin, float threshold) {
    return smoothstep(threshold, 1.0, display_peak(lin));
}
