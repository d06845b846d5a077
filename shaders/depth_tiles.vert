#version 330 core
// Depth conditioning, tile classification (second half): six vertices (two triangles) per
// TILE x TILE block of the output, one draw per refinement program. A block whose pixels'
// windows may hold a depth edge is drawn by the program with the colour test (WANT_EDGES 1);
// the others by the one without it (WANT_EDGES 0), whose pixels cannot take that path. The
// other draw gets a degenerate quad that rasterises nothing.
//
// The test is conservative: a pixel's taps reach at most TILE pixels (depthprep.py checks), so
// they lie in the 3x3 blocks around its own, whose range (lo, hi) contains the window's. The
// pixel test (depth_refine.frag) is hi_w - lo_w > EDGE_REL * hi_w + BAND_ABS, that is
// (1 - EDGE_REL) * hi_w - lo_w > BAND_ABS, which only grows when hi grows or lo falls; half
// of BAND_ABS here leaves room for rounding.

#ifndef TILE
#define TILE 16
#endif
#ifndef WANT_EDGES
#define WANT_EDGES 1
#endif

uniform sampler2D u_range;      // per block: (min, max) of the depth (depth_tiles.frag)
uniform vec2 u_size;            // output size in pixels

out vec2 v_uv;

void main() {
    ivec2 blocks = textureSize(u_range, 0);
    int block = gl_VertexID / 6;
    ivec2 t = ivec2(block % blocks.x, block / blocks.x);
    float lo = 1e30, hi = -1e30;
    for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
            vec2 r = texelFetch(u_range, clamp(t + ivec2(dx, dy), ivec2(0), blocks - 1), 0).rg;
            lo = min(lo, r.x);
            hi = max(hi, r.y);
        }
    }
    bool edges = (1.0 - EDGE_REL) * hi - lo > 0.5 * BAND_ABS;
    // Corners of the block's two triangles: (0,0) (1,0) (0,1), (1,0) (1,1) (0,1).
    int corner = gl_VertexID % 6;
    ivec2 c = ivec2(corner == 1 || corner == 3 || corner == 4 ? 1 : 0,
                    corner == 2 || corner == 4 || corner == 5 ? 1 : 0);
    vec2 px = min(vec2((t + c) * TILE), u_size);
    if (edges != bool(WANT_EDGES)) {
        px = vec2(t * TILE);  // every corner at one point: nothing to rasterise
    }
    v_uv = px / u_size;
    gl_Position = vec4(v_uv * 2.0 - 1.0, 0.0, 1.0);
}
