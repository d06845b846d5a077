// Spiral sample pattern over the unit disc: sample i of n at radius sqrt(u), u = (i + 0.5) / n,
// (uniform density) and angle i * GOLDEN_ANGLE + rotation. With CENTRE_WEIGHTED (presets with
// few samples) the radius is u^(5/8), a density that rises towards the centre, so small CoCs near
// the centre still get samples when the search radius is sized for a large neighbour. Each sample
// carries the fraction of the disc's area it stands for (the Jacobian: 1 / n, or
// 1.25 u^(1/4) / n), so weighted sums stay unbiased estimates of area integrals.
//
// Walked in order, for a loop over i = 0, 1, ... n - 1: the direction turns by the golden angle
// as a rotation (no cos / sin per sample), the radius and weight come from square roots. A
// software rasteriser computes pow, log2, exp2, cos and sin as polynomials per lane, a square
// root in one instruction: with u^0.6 for all presets (two pows, a cos and a sin per sample) the
// far gather took 1.6x its time now; uniform density scores the same with many samples.
#ifndef CENTRE_WEIGHTED
#define CENTRE_WEIGHTED 0
#endif

struct Spiral {
    vec2 dir;      // direction of the next sample
    float inv_n;
};

Spiral spiral_start(int n, float rotation) {
    return Spiral(vec2(cos(rotation), sin(rotation)), 1.0 / float(n));
}

// Sample i (call with i = 0, 1, ...): its offset on the unit disc, its radius there (the
// offset's length, for a round aperture's coverage test) and its share of the disc's area.
vec2 spiral_next(inout Spiral s, int i, out float unit_radius, out float area_fraction) {
    const vec2 TURN = vec2(cos(GOLDEN_ANGLE), sin(GOLDEN_ANGLE));
    float u2 = sqrt((float(i) + 0.5) * s.inv_n);   // u^(1/2)
#if CENTRE_WEIGHTED
    float u4 = sqrt(u2);                            // u^(1/4)
    unit_radius = u2 * sqrt(u4);                    // u^(5/8)
    area_fraction = 1.25 * u4 * s.inv_n;
#else
    unit_radius = u2;
    area_fraction = s.inv_n;
#endif
    vec2 o = unit_radius * s.dir;
    s.dir = vec2(s.dir.x * TURN.x - s.dir.y * TURN.y, s.dir.x * TURN.y + s.dir.y * TURN.x);
    return o;
}

int sample_count(float radius, float squeeze) {
    float n = ceil(SAMPLE_DENSITY * PI * radius * radius * squeeze);
    return int(clamp(n, float(MIN_SAMPLES), float(MAX_SAMPLES)));
}

// Nearest texel at a pixel position, clamped to the image. Bilinear fetches would blend the CoC
// of a foreground texel with the background's across a depth edge and leak its colour there.
vec4 fetch_half(sampler2D tex, vec2 pixel) {
    ivec2 size = textureSize(tex, 0);
    return texelFetch(tex, clamp(ivec2(floor(pixel)), ivec2(0), size - 1), 0);
}
