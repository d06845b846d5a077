#version 330 core
// Near field layer at half resolution: foreground blur with its own coverage (alpha), so a blurred
// foreground lays over whatever is behind it, becoming semi-transparent towards its edges.
// alpha = sum over landing samples of (sample area / CoC area): 1 inside a blurred foreground,
// about 0.5 on its silhouette, falling to 0 one CoC radius outside, as a thin lens gives.
// Slightly defocused near pixels fade out of this layer; the full-res composite resolves them.
#include "common.glsl"
#include "aperture.glsl"
#include "sampling.glsl"

uniform sampler2D u_half;
uniform sampler2D u_tiles;
uniform int u_tile;

out vec4 f_near;                   // normalised colour, alpha

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    float radius = texelFetch(u_tiles, (p * 2) / u_tile, 0).r * 0.5;  // half-res px
    float ca = 0.25 * max(abs(u_axial_ca.r), abs(u_axial_ca.b));
    if (radius < NEAR_FADE_START) {
        f_near = vec4(0.0);
        return;
    }
    // Out to the rim's antialiased half pixel too: without it the coverage inside a uniformly
    // blurred foreground summed to 1 - 1/(4r), not 1, and let 1.6 % of the background through
    // at r = 16 px (the far gather skips its fill only behind an alpha of exactly 1).
    radius += ca + 0.5;
    int n = sample_count(radius, u_squeeze);
    float rotation = JITTER * 2.0 * PI * ign(gl_FragCoord.xy + 17.0);
    float disc_area = PI * radius * radius * u_squeeze;
    vec3 acc = vec3(0.0);
    vec3 wsum = vec3(0.0);
    Spiral spiral = spiral_start(n, rotation);
    for (int i = 0; i < n; ++i) {
        float unit_radius;
        float area_fraction;
        vec2 o = spiral_next(spiral, i, unit_radius, area_fraction)
            * vec2(radius, radius * u_squeeze);
        vec4 s = fetch_half(u_half, gl_FragCoord.xy + o);
        float r = -s.a * 0.25;
        if (r < NEAR_FADE_START) {
            continue;
        }
        // In front of the focus plane the image of the aperture is inverted (point-reflected),
        // so the offset to p (-o) is tested reflected, i.e. as +o.
        vec2 source_px = 2.0 * (gl_FragCoord.xy + o);
        vec3 rc = channel_radius(s.a, 0.25);
#if ROUND_APERTURE
        float norm = unit_radius * radius;
#else
        float norm = shape_norm(o, source_px);
#endif
        vec3 cover = clamp(rc - norm + 0.5, 0.0, 1.0);
        float fade = smoothstep(NEAR_FADE_START, NEAR_FADE_END, r);
        vec3 w = fade * cover * area_fraction * disc_area
            / (max(rc * rc, vec3(0.25)) * shape_area(source_px));
        acc += s.rgb * w;
        wsum += w;
    }
    // One alpha for three channels: the widest channel's coverage (axial chromatic aberration
    // gives the channels different rims); the others keep their own light, premultiplied.
    float cover = max(wsum.r, max(wsum.g, wsum.b));
    f_near = cover > 1e-6 ? vec4(acc / cover, min(cover, 1.0)) : vec4(0.0);
}
