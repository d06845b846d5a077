#version 330 core
// Depth conditioning: edge-aware refinement of inverse depth guided by the colour frame, and
// the per-pixel temporal blend of the stabiliser. The numpy reference is
// rackfocus_live/depthcond.py (refine_edges, temporal_blend): same taps, weights and rules.
//
// Output (RG32F, full resolution): r = conditioned inverse depth, g = guide luma (the next
// frame's temporal blend compares against it).
#include "common.glsl"

#ifndef TAPS
#define TAPS 7
#endif
#define N (TAPS * TAPS)

uniform sampler2D u_depth;      // raw inverse depth, any resolution, LINEAR filtered
uniform sampler2D u_color;      // full-resolution colour
uniform sampler2D u_prev;       // previous output (r = depth, g = luma)
uniform bool u_color_is_srgb;   // false: linear light (encoded to display for the guide)
uniform vec2 u_affine;          // drift correction applied to raw depth: a * d + b
uniform float u_radius;         // tap radius in output pixels
uniform bool u_refine;
uniform bool u_temporal;

const vec3 LUMA_WEIGHTS = vec3(0.299, 0.587, 0.114);

in vec2 v_uv;
layout(location = 0) out vec2 f_out;

float band(float v) {
    return BAND_REL * abs(v) + BAND_ABS;
}

vec3 guide_at(ivec2 p) {
    vec3 c = texelFetch(u_color, p, 0).rgb;
    return u_color_is_srgb ? c : linear_to_srgb(c);
}

float depth_at(ivec2 p, vec2 size) {
    // Bilinear at the output pixel's centre, i.e. the depth upsampled to the output size.
    return u_affine.x * texture(u_depth, (vec2(p) + 0.5) / size).r + u_affine.y;
}

float tap_offset(int i) {
    float x = mix(-u_radius, u_radius, float(i) / float(TAPS - 1));
    return sign(x) * floor(abs(x) + 0.5);
}

float refine(ivec2 p, ivec2 isize, vec3 centre_colour) {
    vec2 size = vec2(isize);
    float sigma_s = u_radius;
    float v[N];
    float wt[N];
    float ws[N];
    vec3 col[N];
    bool present[N];
    int c_index = (TAPS / 2) * TAPS + TAPS / 2;
    float centre = depth_at(p, size);
    float lo = centre, hi = centre;
    // Plane fit sums (values relative to the centre, for precision).
    float s0 = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0;
    float sv = 0.0, sxv = 0.0, syv = 0.0;
    for (int j = 0; j < TAPS; ++j) {
        for (int i = 0; i < TAPS; ++i) {
            int k = j * TAPS + i;
            vec2 off = vec2(tap_offset(i), tap_offset(j));
            ivec2 q = p + ivec2(off);
            // Taps outside the frame do not count (clamped copies would over-weigh the border).
            present[k] = all(greaterThanEqual(q, ivec2(0))) && all(lessThan(q, isize));
            if (!present[k]) {
                v[k] = centre;
                wt[k] = 0.0;
                ws[k] = 0.0;
                col[k] = centre_colour;
                continue;
            }
            col[k] = guide_at(q);
            vec3 d = col[k] - centre_colour;
            ws[k] = exp(-dot(off, off) / (2.0 * sigma_s * sigma_s));
            wt[k] = ws[k] * exp(-dot(d, d) / (2.0 * SIGMA_COLOR * SIGMA_COLOR));
            v[k] = depth_at(q, size);
            lo = min(lo, v[k]);
            hi = max(hi, v[k]);
            float vv = v[k] - centre;
            s0 += wt[k]; sx += wt[k] * off.x; sy += wt[k] * off.y;
            sxx += wt[k] * off.x * off.x; syy += wt[k] * off.y * off.y;
            sxy += wt[k] * off.x * off.y;
            sv += wt[k] * vv; sxv += wt[k] * off.x * vv; syv += wt[k] * off.y * vv;
        }
    }
    // The plane through every tap at the pixel (see depthcond.plane_fit).
    float mx = sx / s0, my = sy / s0, mv = sv / s0;
    float cxx = sxx / s0 - mx * mx + PLANE_RIDGE;
    float cyy = syy / s0 - my * my + PLANE_RIDGE;
    float cxy = sxy / s0 - mx * my;
    float cxv = sxv / s0 - mx * mv;
    float cyv = syv / s0 - my * mv;
    float det = cxx * cyy - cxy * cxy;
    float bx = (cyy * cxv - cxy * cyv) / det;
    float by = (cxx * cyv - cxy * cxv) / det;
    float a = centre + mv - bx * mx - by * my;
    float split = CLASS_SPLIT * (hi - lo);
    // Classes and their colour statistics (every present tap but the centre).
    float n_lo = 0.0, n_hi = 0.0, dev_lo = 0.0, dev_hi = 0.0;
    float wt_lo = 0.0, ws_lo = 0.0, wt_hi = 0.0, ws_hi = 0.0, r2 = 0.0;
    vec3 sum_lo = vec3(0.0), sum_hi = vec3(0.0);
    for (int k = 0; k < N; ++k) {
        if (!present[k]) continue;
        float r = v[k] - (a + bx * tap_offset(k % TAPS) + by * tap_offset(k / TAPS));
        r2 += wt[k] * r * r;
        if (k == c_index) continue;
        if (v[k] <= lo + split) {
            n_lo += 1.0; sum_lo += col[k]; dev_lo += dot(col[k], col[k]);
            wt_lo += wt[k]; ws_lo += ws[k];
        }
        if (v[k] >= hi - split) {
            n_hi += 1.0; sum_hi += col[k]; dev_hi += dot(col[k], col[k]);
            wt_hi += wt[k]; ws_hi += ws[k];
        }
    }
    bool planar = sqrt(r2 / s0) <= PLANAR_REL * abs(a) + BAND_ABS;
    float fallback = planar ? clamp(a, lo, hi) : centre;
    bool varied = hi - lo > EDGE_REL * hi + BAND_ABS && n_lo > 0.0 && n_hi > 0.0;
    if (!varied) return fallback;

    vec3 mean_lo = sum_lo / n_lo, mean_hi = sum_hi / n_hi;
    dev_lo = max(dev_lo - n_lo * dot(mean_lo, mean_lo), 0.0);
    dev_hi = max(dev_hi - n_hi * dot(mean_hi, mean_hi), 0.0);
    float pooled = (dev_lo + dev_hi) / max(n_lo + n_hi - 2.0, 1.0);
    float se2 = pooled * (1.0 / n_lo + 1.0 / n_hi);
    float apart = length(mean_lo - mean_hi);
    // The two ends of the window's depth differ in colour beyond what texture explains.
    bool colour_edge = apart > EDGE_COLOUR_MIN
                       && apart * apart > EDGE_COLOUR_T * EDGE_COLOUR_T * (se2 + 1e-12);
    // One jump across most of the range between neighbouring depths: a sharp edge.
    float gap = 0.0;
    for (int i = 0; i < N; ++i) {
        float next = 1e30;
        for (int j = 0; j < N; ++j) {
            if (v[j] > v[i]) next = min(next, v[j]);
        }
        if (next < 1e30) gap = max(gap, next - v[i]);
    }
    bool sharp = gap > EDGE_GAP * (hi - lo);
    if (!(colour_edge || sharp)) return fallback;

    float sim_lo = wt_lo / max(ws_lo, 1e-30), sim_hi = wt_hi / max(ws_hi, 1e-30);
    bool near_side = colour_edge ? sim_hi >= sim_lo : hi - centre <= centre - lo;
    float span = SIDE_SPLIT * (hi - lo);
    float side_lo = near_side ? hi - span : lo;
    float side_hi = near_side ? hi : lo + span;
    // The weighted median of the chosen side's taps (ties in tap order, as a stable sort).
    float total = 0.0;
    for (int k = 0; k < N; ++k) {
        bool on = (present[k] || k == c_index) && v[k] >= side_lo && v[k] <= side_hi;
        total += on ? wt[k] + 1e-30 : 0.0;
    }
    float m = 1e30;
    for (int i = 0; i < N; ++i) {
        if (!(present[i] && v[i] >= side_lo && v[i] <= side_hi)) continue;
        float c = 0.0;
        for (int j = 0; j < N; ++j) {
            bool on = present[j] && v[j] >= side_lo && v[j] <= side_hi;
            c += (on && (v[j] < v[i] || (v[j] == v[i] && j <= i))) ? wt[j] + 1e-30 : 0.0;
        }
        if (c >= 0.5 * total) m = min(m, v[i]);
    }
    return m;
}

void main() {
    ivec2 isize = textureSize(u_color, 0);
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec3 centre = guide_at(p);
    float luma_now = dot(centre, LUMA_WEIGHTS);
    float w = u_refine ? refine(p, isize, centre) : depth_at(p, vec2(isize));
    if (u_temporal) {
        vec2 prev = texelFetch(u_prev, p, 0).rg;
        float tol = DEPTH_STILL_REL * abs(prev.x) + BAND_ABS;
        float k = (1.0 - smoothstep(0.5 * LUMA_STILL, LUMA_STILL, abs(luma_now - prev.y)))
                * (1.0 - smoothstep(0.5 * tol, tol, abs(w - prev.x)));
        w += TEMPORAL_KEEP * k * (prev.x - w);
    }
    f_out = vec2(w, luma_now);
}
