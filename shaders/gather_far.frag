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
uniform int u_tile;                // tile size in full-res px

out vec4 f_far;                    // normalised colour, total coverage weight

const float NEAR_EPS = 1.0;        // CoC diameter (full-res px) below which a pixel is not "near"

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 center = texelFetch(u_half, p, 0);
    float c0 = center.a;
    vec2 tile = texelFetch(u_tiles, (p * 2) / u_tile, 0).rg * 0.5;  // half-res px
    bool fill = c0 < -NEAR_EPS;
    float r0 = abs(c0) * 0.25;
    float radius = fill ? max(tile.g, r0) : tile.g;
    if (radius < 0.5) {
        f_far = vec4(center.rgb, 1.0);
        return;
    }
    int n = sample_count(radius, u_squeeze);
    float rotation = JITTER * 2.0 * PI * ign(gl_FragCoord.xy);
    float shape_area = aperture_area_factor();
    float disc_area = PI * radius * radius * u_squeeze;
    vec3 acc = vec3(0.0);
    float wsum = 0.0;
    for (int i = 0; i < n; ++i) {
        float area_fraction;
        vec2 o = spiral_sample(i, n, rotation, area_fraction) * vec2(radius, radius * u_squeeze);
        vec4 s = fetch_half(u_half, gl_FragCoord.xy + o);
        if (s.a < -NEAR_EPS) {
            continue;  // near-field samples belong to the near layer
        }
        float a = area_fraction * disc_area;
        float w;
        if (fill) {
            w = a;
        } else {
            float r = max(s.a, 0.0) * 0.25;
            if (s.a > c0) {
                r = min(r, r0);
            }
            // p lies at -o from the sample: test that offset against the sample's aperture.
            float cover = clamp(r - aperture_norm(-o) + 0.5, 0.0, 1.0);
            w = cover * a / (max(r * r, 0.25) * shape_area);
        }
        acc += s.rgb * w;
        wsum += w;
    }
    // Alpha: the coverage sum (about 1 when well sampled); for a hole fill, the fraction of the
    // search disc that is background, which the composite uses to decide whether anything
    // shows through the near layer at all.
    float alpha = fill ? wsum / disc_area : wsum;
    f_far = wsum > 1e-6 ? vec4(acc / wsum, alpha) : vec4(center.rgb, 0.0);
}
