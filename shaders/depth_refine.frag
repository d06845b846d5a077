#version 330 core
// Depth conditioning: edge-aware refinement of inverse depth guided by the colour frame, and
// the per-pixel temporal blend of the stabiliser. The numpy reference is
// rackfocus_live/depthcond.py (refine_edges, temporal_blend): same taps, weights and rules.
//
// Output (RG32F, full resolution): r = conditioned inverse depth, g = guide luma (the next
// frame's temporal blend compares against it).
#include "common.glsl"

#ifndef TAPS
#define TAPS 5
#endif
#define N (TAPS * TAPS)
// Compile-time switches (a SIMD rasteriser such as llvmpipe pays for both sides of a runtime
// branch): edge refinement, the temporal blend, and whether the colour texture reads give
// display-encoded values (8-bit sRGB images) or linear light (encoded here for the guide).
#ifndef REFINE
#define REFINE 1
#endif
#ifndef TEMPORAL
#define TEMPORAL 0
#endif
#ifndef COLOR_IS_SRGB
#define COLOR_IS_SRGB 1
#endif
// INTERIOR 1: the program for pixels at least the tap radius inside the frame (drawn under a
// scissor; depthprep.py draws the border strips with INTERIOR 0). Every tap is then present,
// so the presence tests and the plane fit's tap moments fold to constants.
#ifndef INTERIOR
#define INTERIOR 0
#endif
// EDGES 0: the program for blocks whose windows hold no depth edge (depth_tiles.vert sorts
// the blocks; it is conservative, so their pixels would never take the edge path): the colour
// test is compiled out. EDGES 1 runs both paths.
#ifndef EDGES
#define EDGES 1
#endif
// RESTORE 1: the near side restores thin structures' washed-out depth, RESTORE_WEIGHT of it
// (depthcond.restoration_weight of the tap radius: depth coarser than the colour); 0 compiles
// it out (depth at the colour's resolution).
#ifndef RESTORE
#define RESTORE 0
#endif
// RAW_DEPTH 1: u_depth is the raw depth, already at the output size (no upsampling pass).
#ifndef RAW_DEPTH
#define RAW_DEPTH 0
#endif
// PACKED 1 (with INTERIOR 1): the taps come from u_packed, four of a row per texel
// (depth_pack.frag, drift-corrected): two fetches a row instead of five, for a software
// rasteriser, which pays per fetch.
#ifndef PACKED
#define PACKED 0
#endif
#if PACKED && (!INTERIOR || TAPS != 5)
#error "PACKED needs INTERIOR and a 5x5 tap grid"
#endif

uniform sampler2D u_depth;      // inverse depth at the output size: drift-corrected by
                                // depth_upsample.frag, or (RAW_DEPTH) the raw depth when it has
                                // the output's size already, corrected here by u_affine
uniform vec2 u_affine;          // RAW_DEPTH: the drift correction, a * d + b
uniform sampler2D u_color;      // full-resolution colour
uniform sampler2D u_prev;       // previous output (r = depth, g = luma)
uniform sampler2D u_packed;     // PACKED: the depth, four taps of a row a texel
// The tap grid, the same for every pixel, compiled in (depthprep.py, from
// depthcond.tap_offsets): integer offsets of one axis, and the spatial weight of each tap
// (Gaussian of its distance, sigma = the tap radius). Constants fold into the unrolled loops.
const float u_tap_offset[TAPS] = TAP_OFFSETS;
const float u_tap_weight[N] = TAP_WEIGHTS;

// Tap i's offset and tap k's weight for a loop index that is not a constant: a chain of
// selects over the constants (indexing the arrays with it would make a SIMD rasteriser copy
// them into per-pixel memory up front, whether the loop runs or not).
float tap_offset_of(int i) {
    float o = 0.0;
    for (int t = 0; t < TAPS; ++t) {
        o = t == i ? u_tap_offset[t] : o;
    }
    return o;
}

float tap_weight_of(int k) {
    float w = 0.0;
    for (int t = 0; t < N; ++t) {
        w = t == k ? u_tap_weight[t] : w;
    }
    return w;
}

const vec3 LUMA_WEIGHTS = vec3(0.299, 0.587, 0.114);

in vec2 v_uv;
layout(location = 0) out vec2 f_out;

vec3 guide_at(ivec2 p) {
    vec3 c = texelFetch(u_color, p, 0).rgb;
#if COLOR_IS_SRGB
    return c;
#else
    return linear_to_srgb(c);
#endif
}

float depth_at(ivec2 p, vec2 size) {
    // The depth at the output size (upsampled bilinearly at the pixel's centre, as the numpy
    // reference's bilinear_resize, by depth_upsample.frag), drift-corrected.
#if RAW_DEPTH
    return u_affine.x * texelFetch(u_depth, p, 0).r + u_affine.y;
#else
    return texelFetch(u_depth, p, 0).r;
#endif
}

float refine(ivec2 p, ivec2 isize, vec3 centre_colour) {
    vec2 size = vec2(isize);
    float v[N];
    float ws[N];
    bool present[N];
    int c_index = (TAPS / 2) * TAPS + TAPS / 2;
#if PACKED
    float centre = texelFetch(u_packed, p, 0).x;
    vec4 row = vec4(0.0);
    float row_last = 0.0;
#else
    float centre = depth_at(p, size);
#endif
    float lo = centre, hi = centre;
    // The same over the other taps alone: an end of the window's range that only the centre
    // reaches has no taps (the reference's is_far/is_near of "others").
    float lo_others = 1e30, hi_others = -1e30;
    // Plane fit sums (values relative to the centre, for precision), spatial weights only: the
    // colour is fetched only where the window holds an edge (most pixels do not).
    float s0 = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0;
    float sv = 0.0, sxv = 0.0, syv = 0.0, svv = 0.0;
    for (int j = 0; j < TAPS; ++j) {
        for (int i = 0; i < TAPS; ++i) {
            int k = j * TAPS + i;
            vec2 off = vec2(u_tap_offset[i], u_tap_offset[j]);
            ivec2 q = p + ivec2(off);
            // Taps outside the frame do not count (clamped copies would over-weigh the border).
#if INTERIOR
            present[k] = true;
#else
            present[k] = all(greaterThanEqual(q, ivec2(0))) && all(lessThan(q, isize));
#endif
            if (!present[k]) {
                v[k] = centre;
                ws[k] = 0.0;
                continue;
            }
            ws[k] = u_tap_weight[k];
#if PACKED
            if (i == 0) {  // constant after unrolling, as are the component picks below
                row = texelFetch(u_packed, q, 0);
                row_last = texelFetch(u_packed, p + ivec2(int(u_tap_offset[TAPS - 1]), q.y - p.y),
                                      0).x;
            }
            v[k] = i == TAPS - 1 ? row_last : row[min(i, 3)];
#else
            v[k] = depth_at(q, size);
#endif
            lo = min(lo, v[k]);
            hi = max(hi, v[k]);
            if (k != c_index) {  // compile-time after unrolling
                lo_others = min(lo_others, v[k]);
                hi_others = max(hi_others, v[k]);
            }
            float vv = v[k] - centre;
            s0 += ws[k]; sx += ws[k] * off.x; sy += ws[k] * off.y;
            sxx += ws[k] * off.x * off.x; syy += ws[k] * off.y * off.y;
            sxy += ws[k] * off.x * off.y;
            sv += ws[k] * vv; sxv += ws[k] * off.x * vv; syv += ws[k] * off.y * vv;
            svv += ws[k] * vv * vv;
        }
    }
    float split = CLASS_SPLIT * (hi - lo);
    // A light: clipped white in every channel, a compact emitter whose extent is exactly its
    // clipped region (its own pixels are the only taps that match it); small if those cover
    // less than LIGHT_MAX_SHARE of the window (a clipped sky or white wall is a surface).
    bool light = min(min(centre_colour.r, centre_colour.g), centre_colour.b) >= LIGHT_LEVEL;
    bool any_far = lo_others <= lo + split, any_near = hi_others >= hi - split;
#if EDGES
    bool edge = hi - lo > EDGE_REL * hi + BAND_ABS && any_far && any_near;
#else
    const bool edge = false;
#endif
    if (edge) {
        float span = hi - lo;
        // The far end first (depthcond._near_value): its mean colour (spatial weights), its
        // first moment about the pixel and the same of its taps' distances (the ratio of their
        // lengths is 0 for a far end all round the pixel, 1 for one to one side). A pass of its
        // own, so that the main loop can compare each tap with the far colour as it goes (no
        // arrays of colours).
        float ws_far = 0.0, far_spread = 0.0;
        vec3 far_colour = vec3(0.0);
        vec2 far_moment = vec2(0.0);
        for (int k = 0; k < N; ++k) {
            if (!present[k] || k == c_index || v[k] > lo + split) continue;
            vec2 off = vec2(u_tap_offset[k % TAPS], u_tap_offset[k / TAPS]);
            far_colour += ws[k] * guide_at(p + ivec2(off));
            ws_far += ws[k]; far_moment += ws[k] * off; far_spread += ws[k] * length(off);
        }
        far_colour /= max(ws_far, 1e-30);
        // Which end looks like the pixel: the mean colour weight of each end's taps (every tap
        // in the frame but the centre, whose own colour would always match). The window's top
        // (tail test): its taps and their squared colour distances from the far colour. The
        // near structure's cover: taps matching the pixel, unlike the far end, or at the top.
        float wt_far = 0.0, wt_near = 0.0, ws_near = 0.0, sum_far = 0.0, tw_far = 0.0;
        // The near end's taps weighted by how unlike the background they are (RESTORE: depth
        // coarser than the colour; depthcond._near_likeness).
        float wu_near = 0.0, wtu_near = 0.0;
        float top_count = 0.0, top_dist2 = 0.0;
        float cover = ws[c_index];  // the centre matches itself
        float match_sum = ws[c_index];
        float light_cover = ws[c_index];
        for (int k = 0; k < N; ++k) {
            if (!present[k] || k == c_index) continue;
            vec2 off = vec2(u_tap_offset[k % TAPS], u_tap_offset[k / TAPS]);
            vec3 c = guide_at(p + ivec2(off));
            vec3 d = c - centre_colour;
            float match = exp(-dot(d, d) / (2.0 * SIGMA_COLOR * SIGMA_COLOR));
            float wt = ws[k] * match;
            match_sum += wt;
            if (v[k] <= lo + split) {
                float tilted = wt * clamp(1.0 - (v[k] - lo) / max(split, 1e-30), 0.0, 1.0);
                wt_far += wt; tw_far += tilted; sum_far += tilted * v[k];
            }
            vec3 e = c - far_colour;
            float far_dist2 = dot(e, e);
#if RESTORE
            float unlike = min(far_dist2 * (1.0 / (UNLIKE_FULL * UNLIKE_FULL)), 1.0);
#endif
            if (v[k] >= hi - split) {
                wt_near += wt; ws_near += ws[k];
#if RESTORE
                float wu = ws[k] * (unlike + STRUCTURE_FLOOR);
                wu_near += wu; wtu_near += wu * match;
#endif
            }
            if (v[k] >= hi - TAIL_PLATEAU * span) {
                top_count += 1.0; top_dist2 += far_dist2;
            }
#if RESTORE
            float plateau = v[k] >= hi - COVER_PLATEAU * span ? 1.0 : 0.0;
            cover += ws[k] * max(max(match, unlike), plateau);
            light_cover += ws[k] * max(match, unlike);
#endif
        }
        // A small light with a bump of its own (its depth above the far end: not a lit window
        // on a facade beside a lamp post).
        bool small_light = light && match_sum < LIGHT_MAX_SHARE * s0 && centre > lo + split;
#if RESTORE
        // A small light's cover: its own pixels and whatever is unlike the background, not the
        // plateau (its washed-out bump spreads over pixels of the background's colour).
        cover = small_light ? light_cover : cover;
#endif
        float sim_far = wt_far / max(ws_far, 1e-30), sim_near = wt_near / max(ws_near, 1e-30);
#if RESTORE
        // Coarse depth spreads a near structure's depth over a halo of background pixels: the
        // near end's likeness is read from its taps unlike the background.
        sim_near += RESTORE_WEIGHT * (wtu_near / max(wu_near, 1e-30) - sim_near);
#endif
        // Near unless the far end matches clearly better (a near pixel given far depth costs
        // far more than the reverse); a small light always (colour cannot place its washed-out
        // bump, which falls anywhere in the window's range).
        if (!small_light && sim_near < NEAR_BIAS * sim_far) {
            return tw_far > 1e-20 ? sum_far / max(tw_far, 1e-30) : lo;
        }
        // The window's top lies on its outer ring and is coloured like the far end: the tail of
        // a blurred bump beyond the window, not a surface; the pixel keeps its own depth.
        // (Whether a top tap lies inside the outer ring: the inner taps alone, a loop of its
        // own that keeps the main loop small.)
        bool top_inside = false;
        for (int j = 1; j < TAPS - 1; ++j) {
            for (int i = 1; i < TAPS - 1; ++i) {
                int k = j * TAPS + i;
                if (k != c_index && present[k] && v[k] >= hi - TAIL_PLATEAU * span) {
                    top_inside = true;
                }
            }
        }
        if (top_count >= 1.0 && !top_inside
                && top_dist2 < TAIL_UNLIKE * UNLIKE_FULL * UNLIKE_FULL * top_count) {
            return centre;
        }
#if RESTORE
        // A thin structure's washed-out depth: the window's depth mass over the background
        // (sv and s0 are the sums over every tap in the frame, the centre's included) over the
        // structure's cover, faded out as the far end moves to one side (an edge).
        float mass = sv + s0 * (centre - lo);
        float restored = max(lo + mass / max(cover, 1e-30), hi);
        float k_restore = RESTORE_WEIGHT
            * clamp(1.0 - length(far_moment) / max(far_spread, 1e-30), 0.0, 1.0);
        return hi + k_restore * (restored - hi);
#else
        return hi;
#endif
    }
    // The plane through the taps at the pixel (see depthcond.plane_fit).
    float mx = sx / s0, my = sy / s0, mv = sv / s0;
    float cxx = sxx / s0 - mx * mx + PLANE_RIDGE;
    float cyy = syy / s0 - my * my + PLANE_RIDGE;
    float cxy = sxy / s0 - mx * my;
    float cxv = sxv / s0 - mx * mv;
    float cyv = syv / s0 - my * mv;
    float det = cxx * cyy - cxy * cxy;
    float bx = (cyy * cxv - cxy * cyv) / det;
    float by = (cxx * cyv - cxy * cxv) / det;
    float a_rel = mv - bx * mx - by * my;  // the plane at the pixel, relative to the centre
    float a = centre + a_rel;
    // The weighted squared residual of the taps from the plane, expanded into the sums above
    // (one multiply-add a tap instead of a second pass over them; the reference loops).
    float r2 = svv - 2.0 * (a_rel * sv + bx * sxv + by * syv)
             + a_rel * a_rel * s0 + 2.0 * a_rel * (bx * sx + by * sy)
             + bx * bx * sxx + 2.0 * bx * by * sxy + by * by * syy;
    r2 = max(r2, 0.0);
    bool planar = sqrt(r2 / s0) <= PLANAR_REL * abs(a) + BAND_ABS;
#if RESTORE && EDGES
    // A small light on a bump too shallow to be an edge: a small bright thing whose depth the
    // degradation washed out, restored as the near side restores a thin structure, its cover
    // being its own pixels and whatever is unlike the background. Only in the programs with the colour test: depth_tiles.vert sends
    // the blocks holding a light whose window may hold such a bump there (the smooth blocks'
    // program slowed by a tenth with this loop in it, even with no light in the frame). The
    // colour taps (and the far end's moments) are read in a loop that only lights enter: a SIMD
    // rasteriser runs both sides of an if, but leaves a loop no pixel of its block enters.
    bool light_bump = light && !planar && any_far && any_near && centre > lo + split
        && hi - lo > LIGHT_BUMP_REL * hi + BAND_ABS;
    int light_taps = light_bump ? N : 0;
    float light_cover = 0.0, light_spread = 0.0, light_share = 0.0, far_sum = 0.0;
    vec2 light_moment = vec2(0.0);
    vec3 light_far = vec3(0.0);
    // The far end's mean colour first (a loop of its own: the cover compares with it).
    for (int k = 0; k < light_taps; ++k) {
        vec2 off = vec2(tap_offset_of(k % TAPS), tap_offset_of(k / TAPS));
        ivec2 q = p + ivec2(off);
#if !INTERIOR
        if (any(lessThan(q, ivec2(0))) || any(greaterThanEqual(q, isize))) continue;
#endif
#if PACKED
        float vk = texelFetch(u_packed, q, 0).x;
#else
        float vk = depth_at(q, size);
#endif
        if (k != c_index && vk <= lo + split) {
            float w_k = tap_weight_of(k);
            light_far += w_k * guide_at(q); far_sum += w_k;
        }
    }
    light_far /= max(far_sum, 1e-30);
    for (int k = 0; k < light_taps; ++k) {
        vec2 off = vec2(tap_offset_of(k % TAPS), tap_offset_of(k / TAPS));
        ivec2 q = p + ivec2(off);
#if !INTERIOR
        if (any(lessThan(q, ivec2(0))) || any(greaterThanEqual(q, isize))) continue;
#endif
        // The tap's depth again (indexing v[] with a loop variable would take the main loop's
        // arrays out of registers).
#if PACKED
        float vk = texelFetch(u_packed, q, 0).x;
#else
        float vk = depth_at(q, size);
#endif
        vec3 c = guide_at(q);
        vec3 d = c - centre_colour;
        vec3 e = c - light_far;
        float w_k = tap_weight_of(k);
        float match = exp(-dot(d, d) / (2.0 * SIGMA_COLOR * SIGMA_COLOR));
        float unlike = min(dot(e, e) * (1.0 / (UNLIKE_FULL * UNLIKE_FULL)), 1.0);
        light_share += w_k * match;
        light_cover += w_k * max(match, unlike);
        if (k != c_index && vk <= lo + split) {
            light_moment += w_k * off; light_spread += w_k * length(off);
        }
    }
    if (light_bump && light_share < LIGHT_MAX_SHARE * s0) {
        float mass = sv + s0 * (centre - lo);
        float restored = max(lo + mass / max(light_cover, 1e-30), hi);
        float k_restore = RESTORE_WEIGHT
            * clamp(1.0 - length(light_moment) / max(light_spread, 1e-30), 0.0, 1.0);
        return hi + k_restore * (restored - hi);
    }
#endif
    return planar ? clamp(a, lo, hi) : centre;
}

void main() {
    ivec2 isize = textureSize(u_color, 0);
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec3 centre = guide_at(p);
    float luma_now = dot(centre, LUMA_WEIGHTS);
#if REFINE
    float w = refine(p, isize, centre);
#else
    float w = depth_at(p, vec2(isize));
#endif
#if TEMPORAL
    {
        vec2 prev = texelFetch(u_prev, p, 0).rg;
        float tol = DEPTH_STILL_REL * abs(prev.x) + BAND_ABS;
        float k = (1.0 - smoothstep(0.5 * LUMA_STILL, LUMA_STILL, abs(luma_now - prev.y)))
                * (1.0 - smoothstep(0.5 * tol, tol, abs(w - prev.x)));
        w += TEMPORAL_KEEP * k * (prev.x - w);
    }
#endif
    f_out = vec2(w, luma_now);
}
