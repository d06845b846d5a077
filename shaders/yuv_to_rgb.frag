#version 330 core
// Decoded YUV planes -> RGB for the renderer, in one pass.
//
// YUV_MATRIX and YUV_BIAS carry the colour matrix (BT.601/709/2020), the range (limited/full)
// and the bit depth together (gpu/upload.py: yuv_coefficients), so one multiply-add turns
// normalised texture reads into display-encoded R'G'B' for every format. They are compile-time
// constants of the stream, not uniforms: llvmpipe reloads a uniform at each use in each block of
// pixels, which cost this pass half a copy of the frame.
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
// Output orientation: row 0 of the (display-rotated) image is at the output's y = 0 (the first
// row rendered), as if its numpy rows had been uploaded directly.
#ifndef ENCODED_OUTPUT
#define ENCODED_OUTPUT 0
#endif
#ifndef ROTATION
#define ROTATION 0
#endif
// INTERLEAVED_CHROMA 1: chroma in one two-channel texture (U in r, V in g), interleaved by the
// decoder thread for a software rasteriser, where a second bilinear read is a third of the pass
// (gpu/context.py: interleave_chroma_for); 0: the decoded U and V planes as they are.
#if !defined(YUV_MATRIX) || !defined(YUV_BIAS)
#error "YUV_MATRIX and YUV_BIAS are the stream's (gpu/upload.py: _conversion_for)"
#endif
#ifndef INTERLEAVED_CHROMA
#define INTERLEAVED_CHROMA 0
#endif

in vec2 v_chroma;                // chroma texture coordinate (yuv_to_rgb.vert)
out vec4 f_color;

uniform sampler2D u_y;          // luma, full size: one texel per output pixel (texelFetch)
// Chroma, LINEAR: bilinear upsampling of 4:2:0 / 4:2:2.
#if INTERLEAVED_CHROMA
uniform sampler2D u_uv;
#else
uniform sampler2D u_u;
uniform sampler2D u_v;
uniform float u_chroma_max;     // u of the last chroma texel centre: bilinear stops there
#endif
const mat3 YUV_TO_RGB = YUV_MATRIX;  // normalised code -> R'G'B' ...
const vec3 RGB_BIAS = YUV_BIAS;      // ... + the code offsets, through the matrix
uniform ivec2 u_coded_max;      // coded (unrotated) size - 1, in luma pixels
// Plane textures hold whole decoded rows, padding included: the chroma coordinate is scaled to
// the visible width (luma reads whole pixels and never reaches the padding; interleaved chroma
// is exactly the visible samples, scale 1).

vec3 srgb_eotf(vec3 c) {
    vec3 lo = c / 12.92;
    vec3 hi = pow((c + 0.055) / 1.055, vec3(2.4));
    return mix(lo, hi, step(vec3(0.04045), c));
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
#if ROTATION == 90
    ivec2 luma = ivec2(u_coded_max.x - p.y, p.x);
#elif ROTATION == 180
    ivec2 luma = u_coded_max - p;
#elif ROTATION == 270
    ivec2 luma = ivec2(p.y, u_coded_max.y - p.x);
#else
    ivec2 luma = p;
#endif
#if INTERLEAVED_CHROMA
    // Exactly the visible samples: clamp-to-edge keeps bilinear reads inside.
    vec2 chroma = texture(u_uv, v_chroma).rg;
#else
    vec2 cuv = vec2(min(v_chroma.x, u_chroma_max), v_chroma.y);
    vec2 chroma = vec2(texture(u_u, cuv).r, texture(u_v, cuv).r);
#endif
    vec3 yuv = vec3(texelFetch(u_y, luma, 0).r, chroma);
    // Super-whites and sub-blacks of limited-range video are clipped: the pipeline is
    // display-referred, and a negative value has no defined transfer. The 8-bit target is
    // unsigned-normalised: the conversion to fixed point on the write clamps to [0, 1], so the
    // ALU need not.
#if ENCODED_OUTPUT
    f_color = vec4(YUV_TO_RGB * yuv + RGB_BIAS, 1.0);
#else
    f_color = vec4(srgb_eotf(clamp(YUV_TO_RGB * yuv + RGB_BIAS, 0.0, 1.0)), 1.0);
#endif
}
