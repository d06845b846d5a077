#version 330 core
// Full resolution: the input's light as the composite's slight-defocus gathers spread it. A
// clipped pixel is re-expanded by its half-res block's highlight gain (downsample.frag: damped
// for large clipped surfaces), as the half-res layers are, but without the hue recovery; only
// from a blur radius of BOOST_SPREAD_START source px, in full from BOOST_SPREAD_FULL, where the
// half-res layers start taking over (so a light's energy does not jump there). Below a pixel
// the light stays within its own antialiased rim, whose partly clipped pixels the ramp already
// counts as light (the path tracer shows no brighter rim there); a few pixels out, the path
// tracer's disc of a light 4 px across stays clipped over 7 px, where the unboosted gather
// spread it into a dim cone. A pass of its own so that the gathers read one texel a tap (doing
// it per tap cost the eval images a fifth more time on a software rasteriser).
// In-focus pixels are unchanged (the spread is 0 there), so the composite's sharp pixels may
// read either texture.
#include "common.glsl"
#include "highlight.glsl"

uniform sampler2D u_full;      // linear rgb + signed CoC diameter, full res
uniform sampler2D u_boost;     // downsample.frag's highlight gain per half-res block
uniform float u_highlight_threshold;
// The threshold's linear value: no pixel whose channels all lie below it is clipped (most
// pixels stop there). The pass runs only where there is a gain (dof.py: not for scene-linear
// input, which carries its true energy; the composite then reads the input itself).
uniform float u_highlight_floor;
// Source pixels per rendered pixel (2 for the preview's half-size picture): the spread is
// measured in the source's pixels, whose antialiased rims it is about.
uniform float u_source_scale;

out vec4 f_lit;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 s = texelFetch(u_full, p, 0);
    if (max(s.r, max(s.g, s.b)) > u_highlight_floor) {
        float ramp = clip_ramp(s.rgb, u_highlight_threshold);
        float gain = texelFetch(u_boost, p / 2, 0).r;
        // A light is one emitter at one depth: the nearest of its clipped pixels around this
        // one (the smallest signed CoC). Depth is one sample per pixel, and a light's
        // antialiased rim often carries the depth behind it: an LED in focus would otherwise
        // bloom from its rim as if it were out of focus.
        float c = s.a;
        ivec2 size = textureSize(u_full, 0);
        for (int j = -1; j <= 1; ++j) {
            for (int i = -1; i <= 1; ++i) {
                vec4 t = texelFetch(u_full, clamp(p + ivec2(i, j), ivec2(0), size - 1), 0);
                if (max(t.r, max(t.g, t.b)) > u_highlight_floor) {
                    c = min(c, t.a);
                }
            }
        }
        float spread = smoothstep(BOOST_SPREAD_START, BOOST_SPREAD_FULL,
                                  abs(c) * 0.5 * u_source_scale);
        s.rgb *= 1.0 + gain * ramp * ramp * spread;
    }
    f_lit = s;
}
