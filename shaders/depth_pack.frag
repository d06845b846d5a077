#version 330 core
// Depth conditioning on a software rasteriser: four taps of a refinement row in one texel. Texel
// x holds the (drift-corrected) depth at x and at the next three column offsets of the tap grid
// (PACK_DX, from the first), so the blocks' programs read a row of five taps with two fetches
// (this texel at the first tap, and the next one's first component at the last tap) instead of
// five. llvmpipe pays per fetch, not per byte. Columns past the right edge repeat the last:
// they belong to taps outside the frame, which only the border program reads, from u_depth.
uniform sampler2D u_depth;      // inverse depth at the output size (raw or upsampled)
uniform vec2 u_affine;          // drift correction a * d + b (identity for upsampled depth)

layout(location = 0) out vec4 f_packed;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int last = textureSize(u_depth, 0).x - 1;
    const ivec3 DX = PACK_DX;
    vec4 d = vec4(texelFetch(u_depth, p, 0).r,
                  texelFetch(u_depth, ivec2(min(p.x + DX.x, last), p.y), 0).r,
                  texelFetch(u_depth, ivec2(min(p.x + DX.y, last), p.y), 0).r,
                  texelFetch(u_depth, ivec2(min(p.x + DX.z, last), p.y), 0).r);
    f_packed = u_affine.x * d + u_affine.y;
}
