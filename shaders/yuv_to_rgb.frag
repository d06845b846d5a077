#version 330 core
// Decoded YUV planes -> RGB for the renderer, in one pass.
//
// u_matrix and u_bias carry the colour matrix (BT.601/709/2020), the range (limited/full) and the
// bit depth together (gpu/upload.py: yuv_coefficients), so one multiply-add turns normalised
// texture reads into display-encoded R'G'B' for every format.
//
// The transfer (sRGB EOTF, IEC 61966-2-1, what most tools use for display-referred video; the
// inverse of what the composite pass encodes with) is decoded one of two ways:
//   ENCODED_OUTPUT 1  8-bit sources: R'G'B' is written as it is into an SRGB8_ALPHA8 texture,
//                     whose reads decode it to linear light (sampler hardware; exact to the
//                     standard, and 8-bit R'G'B' holds all an 8-bit source has)
//   ENCODED_OUTPUT 0  deeper sources: the EOTF here, into RGBA16F
// ROTATION (0, 90, 180, 270, counter-clockwise display rotation) is compile-time, as is the
// choice above: a SIMD rasteriser pays for both sides of a runtime branch.
//
// Output orientation: row 0 of the (display-rotated) image is at v_uv.y = 0, as if its numpy
// rows had been uploaded directly.
#ifndef ENCODED_OUTPUT
#define ENCODED_OUTPUT 0
#endif
#ifndef ROTATION
#define ROTATION 0
#endif
// INTERLEAVED_CHROMA 1: chroma in one two-channel texture (U in r, V in g), interleaved by the
// decoder thread for a software rasteriser, where a second bilinear read is a third of the pass
// (gpu/context.py: interleave_chroma_for); 0: the decoded U and V planes as they are.
#ifndef INTERLEAVED_CHROMA
#define INTERLEAVED_CHROMA 0
#endif

in vec2 v_uv;
out vec4 f_color;

uniform sampler2D u_y;          // luma, full size: one texel per output pixel (texelFetch)
// Chroma, LINEAR: bilinear upsampling of 4:2:0 / 4:2:2.
#if INTERLEAVED_CHROMA
uniform sampler2D u_uv;
#else
uniform sampler2D u_u;
uniform sampler2D u_v;
#endif
uniform mat3 u_matrix;          // normalised code -> R'G'B' ...
uniform vec3 u_bias;            // ... + u_bias (the code offsets, through the matrix)
uniform ivec2 u_coded_max;      // coded (unrotated) size - 1, in luma pixels
// Plane textures hold whole decoded rows, padding included: chroma u is scaled to the visible
// width (luma reads whole pixels and never reaches the padding; interleaved chroma is exactly
// the visible samples, scale 1).
uniform float u_chroma_scale;   // width / row length of the chroma textures
uniform float u_chroma_shift;   // chroma siting: +0.25 chroma texel for left-sited (MPEG) chroma
uniform float u_chroma_max;     // u of the last chroma texel centre: bilinear stops there

vec3 srgb_eotf(vec3 c) {
    vec3 lo = c / 12.92;
    vec3 hi = pow((c + 0.055) / 1.055, vec3(2.4));
    return mix(lo, hi, step(vec3(0.04045), c));
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
#if ROTATION == 90
    ivec2 luma = ivec2(u_coded_max.x - p.y, p.x);
    vec2 uv = vec2(1.0 - v_uv.y, v_uv.x);
#elif ROTATION == 180
    ivec2 luma = u_coded_max - p;
    vec2 uv = 1.0 - v_uv;
#elif ROTATION == 270
    ivec2 luma = ivec2(p.y, u_coded_max.y - p.x);
    vec2 uv = vec2(v_uv.y, 1.0 - v_uv.x);
#else
    ivec2 luma = p;
    vec2 uv = v_uv;
#endif
#if INTERLEAVED_CHROMA
    // Exactly the visible samples: clamp-to-edge keeps bilinear reads inside.
    vec2 chroma = texture(u_uv, vec2(uv.x + u_chroma_shift, uv.y)).rg;
#else
    vec2 cuv = vec2(min(uv.x * u_chroma_scale + u_chroma_shift, u_chroma_max), uv.y);
    vec2 chroma = vec2(texture(u_u, cuv).r, texture(u_v, cuv).r);
#endif
    vec3 yuv = vec3(texelFetch(u_y, luma, 0).r, chroma);
    // Super-whites and sub-blacks of limited-range video are clipped: the pipeline is
    // display-referred, and a negative value has no defined transfer. The 8-bit target is
    // unsigned-normalised: the conversion to fixed point on the write clamps to [0, 1], so the
    // ALU need not.
#if ENCODED_OUTPUT
    f_color = vec4(u_matrix * yuv + u_bias, 1.0);
#else
    f_color = vec4(srgb_eotf(clamp(u_matrix * yuv + u_bias, 0.0, 1.0)), 1.0);
#endif
}
