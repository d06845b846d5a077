#version 330 core
// Scatter-as-gather needs, at every pixel, the largest CoC that can reach it: spread each tile's
// near and far radius over the neighbouring tiles it covers (distance measured between the tiles'
// closest pixels, stretched for anamorphic apertures).
uniform sampler2D u_tiles;
uniform int u_tile;
uniform int u_reach;      // in tiles
uniform float u_squeeze;

out vec3 f_tile;

void main() {
    ivec2 n = textureSize(u_tiles, 0);
    ivec2 t = ivec2(gl_FragCoord.xy);
    vec3 best = texelFetch(u_tiles, t, 0).rgb;
    for (int dy = -u_reach; dy <= u_reach; ++dy) {
        for (int dx = -u_reach; dx <= u_reach; ++dx) {
            ivec2 q = t + ivec2(dx, dy);
            if (any(lessThan(q, ivec2(0))) || any(greaterThanEqual(q, n))) {
                continue;
            }
            vec3 v = texelFetch(u_tiles, q, 0).rgb;
            vec2 gap = max(abs(vec2(dx, dy)) - 1.0, 0.0) * float(u_tile);
            float dist = length(vec2(gap.x, gap.y / u_squeeze));
            best = max(best, mix(vec3(0.0), v, greaterThan(v, vec3(dist))));
        }
    }
    f_tile = best;
}
