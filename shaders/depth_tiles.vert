#version 330 core
// Depth conditioning, tile classification (second half): six vertices (two triangles) per
// TILE x TILE block of the output (or per border rectangle: BORDER), one draw per refinement
// program. A block whose pixels'
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
// BORDER 1: instead of whole blocks, the parts of the border blocks within u_pad pixels of the
// frame's edge (where taps fall outside it: the program with INTERIOR 0), one rectangle per
// block of each of the four strips. A corner block's two rectangles overlap in a u_pad square;
// a pixel there is written twice, and the same value both times (a rectangle is sent to the
// program without the colour test only if none of its pixels can take that path).
#ifndef BORDER
#define BORDER 0
#endif

uniform sampler2D u_range;      // per block: (min, max) of the depth (depth_tiles.frag)
uniform vec2 u_size;            // output size in pixels
uniform int u_pad;              // BORDER: the strips' width in pixels (at most TILE)

out vec2 v_uv;

void main() {
    ivec2 blocks = textureSize(u_range, 0);
    int block = gl_VertexID / 6;
#if BORDER
    // Strips in order: top and bottom (a rectangle per block column), left and right (one per
    // block row); each rectangle is (lo, hi) in pixels and the block rows/columns it touches.
    int strip = block < 2 * blocks.x ? block / blocks.x : 2 + (block - 2 * blocks.x) / blocks.y;
    int along = block < 2 * blocks.x ? block % blocks.x : (block - 2 * blocks.x) % blocks.y;
    ivec2 isize = ivec2(u_size);
    ivec2 rect_lo, rect_hi;
    if (strip < 2) {
        int y0 = strip == 0 ? 0 : isize.y - u_pad;
        rect_lo = ivec2(along * TILE, y0);
        rect_hi = ivec2(min((along + 1) * TILE, isize.x), y0 + u_pad);
    } else {
        int x0 = strip == 2 ? 0 : isize.x - u_pad;
        rect_lo = ivec2(x0, along * TILE);
        rect_hi = ivec2(x0 + u_pad, min((along + 1) * TILE, isize.y));
    }
    ivec2 t_lo = rect_lo / TILE, t_hi = (rect_hi - 1) / TILE;
#else
    ivec2 t = ivec2(block % blocks.x, block / blocks.x);
    ivec2 t_lo = t, t_hi = t;
    ivec2 rect_lo = t * TILE;
    ivec2 rect_hi = min((t + 1) * TILE, ivec2(u_size));
#endif
    // The depth range over the blocks the rectangle touches and their neighbours, and whether
    // a light lies in those it touches.
    float lo = 1e30, hi = -1e30, light = 0.0;
    for (int ty = t_lo.y - 1; ty <= t_hi.y + 1; ++ty) {
        for (int tx = t_lo.x - 1; tx <= t_hi.x + 1; ++tx) {
            vec3 r = texelFetch(u_range, clamp(ivec2(tx, ty), ivec2(0), blocks - 1), 0).rgb;
            lo = min(lo, r.x);
            hi = max(hi, r.y);
            if (all(greaterThanEqual(ivec2(tx, ty), t_lo)) && all(lessThanEqual(ivec2(tx, ty), t_hi))) {
                light = max(light, r.z);
            }
        }
    }
    bool edges = (1.0 - EDGE_REL) * hi - lo > 0.5 * BAND_ABS;
#if LIGHTS
    // A light whose window may hold a bump (depth_refine.frag restores small lights' depth
    // there, in the program with the colour test): the same conservative test.
    edges = edges || (light > 0.0 && (1.0 - LIGHT_BUMP_REL) * hi - lo > 0.5 * BAND_ABS);
#endif
    // Corners of the rectangle's two triangles: (0,0) (1,0) (0,1), (1,0) (1,1) (0,1).
    int corner = gl_VertexID % 6;
    ivec2 c = ivec2(corner == 1 || corner == 3 || corner == 4 ? 1 : 0,
                    corner == 2 || corner == 4 || corner == 5 ? 1 : 0);
    vec2 px = vec2(rect_lo + (rect_hi - rect_lo) * c);
    if (edges != bool(WANT_EDGES)) {
        px = vec2(rect_lo);  // every corner at one point: nothing to rasterise
    }
    v_uv = px / u_size;
    gl_Position = vec4(v_uv * 2.0 - 1.0, 0.0, 1.0);
}
