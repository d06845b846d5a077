#version 330 core
// Far field (and in-focus) layer at half resolution, as scatter-as-gather: a sample q lands on
// this pixel p when p lies inside q's aperture-shaped CoC; each landing sample adds its colour
// spread over its CoC area, so energy is conserved and bokeh takes the aperture's shape.
// Occlusion: a sample behind p may not blur over p by more than p's own CoC (a sharper
// foreground stays sharp); samples in front keep their full CoC (nearer blur spills over).
// Near-field pixels instead get a hole fill: the background around them within their own CoC,
// which shows through the semi-transparent edges of the blurred foreground in the composite.
#include "common.glsl"
#include "aperture.glsl"
#include "sampling.glsl"

uniform sampler2D u_half;          // linear rgb + signed CoC diameter (full-res px)
uniform sampler2D u_tiles;         // dilated (near, far) radius in full-res px
uniform sampler2D u_near;          // the near layer (gather_near.frag): alpha 1 is opaque
uniform int u_tile;                // tile size in full-res px

out vec4 f_far;                    // normalised colour, total coverage weight

const float NEAR_EPS = 1.0;        // CoC diameter (full-res px) below which a pixel is not "near"
// A hole fill's background: whatever the near layer does not draw (gather_near.frag starts at a
// half-res radius of NEAR_FADE_START, i.e. this full-res diameter). Slightly blurred near pixels
// (a floor running towards the camera under a wire) lie behind the blurred foreground as much as
// the far field does; skipped, a wire over them found no background and kept its sharp colour.
const float FILL_NEAR = 4.0 * NEAR_FADE_START;

// Whether no full-res pixel that reads this near texel's far value can show it: the near layer
// is opaque (alpha exactly 1) here and at every texel that shares a bilinear footprint with it,
// so the composite's mix takes all of those pixels from the near layer. Deep inside a blurred
// foreground the hole fill is then skipped: its sample count is the largest of the frame. Not
// with a post-filter, which mixes each texel into its neighbours' layers before the composite
// (the draft preset, whose fill is cheap). The taps are a loop of no turns for other pixels.
bool behind_opaque_near(ivec2 p, bool fill) {
#if POSTFILTER_ON
    return false;
#else
    ivec2 last = textureSize(u_near, 0) - 1;
    float a = 1.0;
    for (int i = 0; i < (fill ? 9 : 0); ++i) {
        a = min(a, texelFetch(u_near, clamp(p + ivec2(i % 3, i / 3) - 1, ivec2(0), last), 0).a);
    }
    return fill && a >= 1.0;
#endif
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 center = texelFetch(u_half, p, 0);
    float c0 = center.a;
    vec2 tile = texelFetch(u_tiles, (p * 2) / u_tile, 0).rg * 0.5;  // half-res px
    bool fill = c0 < -NEAR_EPS;
    float r0 = abs(c0) * 0.25;
    // Axial chromatic aberration widens one channel's CoC beyond the tile's (green) radius.
    float ca = 0.25 * max(abs(u_axial_ca.r), abs(u_axial_ca.b));
    // No sample lands from further than p's own CoC allows: one behind p is clamped to r0, one in
    // front of it (but behind the focus plane) is sharper than p, near ones are skipped. So the
    // search stops at r0 (+ the rim's half pixel), however large a neighbour in the tile is:
    // the same estimate from fewer samples where the tile's largest CoC is not this pixel's
    // (in-focus pixels beside a blurred background took the background's full sample count).
    float radius = fill ? max(tile.g, r0)
                        : (tile.g > 0.0 ? min(tile.g, r0 + 0.5) + ca : 0.0);
    if (radius < 0.5) {
        f_far = vec4(center.rgb, 1.0);
        return;
    }
    if (behind_opaque_near(p, fill)) {
        f_far = vec4(center.rgb, 0.0);  // what a fill that finds no background gives
        return;
    }
    int n = sample_count(radius, u_squeeze);
    float rotation = JITTER * 2.0 * PI * ign(gl_FragCoord.xy);
    float disc_area = PI * radius * radius * u_squeeze;
    vec3 acc = vec3(0.0);
    vec3 wsum = vec3(0.0);
    // Two loops, one for a hole fill and one for the rest, each run only by the pixels it is for
    // (the other gets no iterations): a software rasteriser computes both sides of an `if` for a
    // block of pixels, but leaves a loop as soon as none of them goes on, so a block of hole fills
    // does not compute coverage it does not use. (Blocks on a near edge run both.)
    Spiral spiral = spiral_start(n, rotation);
    for (int i = 0; i < (fill ? n : 0); ++i) {
        float unit_radius;
        float area_fraction;
        vec2 o = spiral_next(spiral, i, unit_radius, area_fraction)
            * vec2(radius, radius * u_squeeze);
        vec4 s = fetch_half(u_half, gl_FragCoord.xy + o);
        if (s.a < -FILL_NEAR || s.a <= c0) {
            continue;  // the near layer's, or not behind p
        }
        float a = area_fraction * disc_area;
        acc += s.rgb * a;
        wsum += vec3(a);
    }
    for (int i = 0; i < (fill ? 0 : n); ++i) {
        float unit_radius;
        float area_fraction;
        vec2 o = spiral_next(spiral, i, unit_radius, area_fraction)
            * vec2(radius, radius * u_squeeze);
        vec4 s = fetch_half(u_half, gl_FragCoord.xy + o);
        if (s.a < -NEAR_EPS) {
            continue;  // near-field samples belong to the near layer
        }
        float a = area_fraction * disc_area;
        vec3 r = channel_radius(max(s.a, 0.0), 0.25);
        if (s.a > c0) {
            r = min(r, vec3(r0));
        }
        // p lies at -o from the sample: test that offset against the sample's aperture.
        vec2 source_px = 2.0 * (gl_FragCoord.xy + o);
#if ROUND_APERTURE
        float norm = unit_radius * radius;
#else
        float norm = shape_norm(-o, source_px);
#endif
        vec3 cover = clamp(r - norm + 0.5, 0.0, 1.0);
        vec3 w = cover * a / (max(r * r, vec3(0.25)) * shape_area(source_px));
        acc += s.rgb * w;
        wsum += w;
    }
    // Alpha: the coverage sum (about 1 when well sampled); for a hole fill, the fraction of the
    // search disc that is background, which the composite uses to decide whether anything
    // shows through the near layer at all.
    float alpha = fill ? wsum.g / disc_area : wsum.g;
    f_far = all(greaterThan(wsum, vec3(1e-6))) ? vec4(acc / wsum, alpha)
                                               : vec4(center.rgb, 0.0);
}
