#version 330 core
// The covering triangle of fullscreen.vert, with the chroma texture coordinate of each corner
// worked out here: it is affine in the output position, so the rasteriser's interpolation gives
// every pixel its chroma coordinate with no per-pixel arithmetic on uniforms (which llvmpipe
// reloads at each use in each block of pixels). ROTATION as in yuv_to_rgb.frag.
#ifndef ROTATION
#define ROTATION 0
#endif

uniform float u_chroma_scale;   // width / row length of the chroma textures
uniform float u_chroma_shift;   // chroma siting: +0.25 chroma texel for left-sited (MPEG) chroma
out vec2 v_chroma;              // chroma texture coordinate, before the clamp to visible samples

void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
    // Output uv (row 0 of the display-rotated image at v = 0) to coded uv.
#if ROTATION == 90
    vec2 uv = vec2(1.0 - p.y, p.x);
#elif ROTATION == 180
    vec2 uv = 1.0 - p;
#elif ROTATION == 270
    vec2 uv = vec2(p.y, 1.0 - p.x);
#else
    vec2 uv = p;
#endif
    v_chroma = vec2(uv.x * u_chroma_scale + u_chroma_shift, uv.y);
}
