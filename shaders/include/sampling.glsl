// Spiral sample pattern over the unit disc with a density that rises towards the centre.
// Radius u^SAMPLE_EXPONENT (0.5 = uniform): small CoCs near the centre still get samples when the
// search radius is sized for a large neighbour. Each sample carries the fraction of the disc's
// area it stands for (the Jacobian), so weighted sums stay unbiased estimates of area integrals.
#ifndef SAMPLE_EXPONENT
#define SAMPLE_EXPONENT 0.6
#endif

vec2 spiral_sample(int i, int n, float rotation, out float area_fraction) {
    float u = (float(i) + 0.5) / float(n);
    float radius = pow(u, SAMPLE_EXPONENT);
    float angle = float(i) * GOLDEN_ANGLE + rotation;
    area_fraction = 2.0 * SAMPLE_EXPONENT * pow(u, 2.0 * SAMPLE_EXPONENT - 1.0) / float(n);
    return radius * vec2(cos(angle), sin(angle));
}

// The same samples in order, for a loop over i = 0, 1, ... n - 1: the direction turns by the
// golden angle as a rotation (no cos / sin per sample) and the radius and its area weight share
// one log2 (u^(2e-1) = radius^2 / u). A software rasteriser computes transcendentals as
// polynomials per lane; two pows, a cos and a sin were a large part of a gather sample.
struct Spiral {
    vec2 dir;      // direction of the next sample
    float inv_n;
};

Spiral spiral_start(int n, float rotation) {
    return Spiral(vec2(cos(rotation), sin(rotation)), 1.0 / float(n));
}

vec2 spiral_next(inout Spiral s, int i, out float area_fraction) {
    const vec2 TURN = vec2(cos(GOLDEN_ANGLE), sin(GOLDEN_ANGLE));
    float u = (float(i) + 0.5) * s.inv_n;
    float radius = exp2(SAMPLE_EXPONENT * log2(u));
    area_fraction = 2.0 * SAMPLE_EXPONENT * radius * radius / u * s.inv_n;
    vec2 o = radius * s.dir;
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
