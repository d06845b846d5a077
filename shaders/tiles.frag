#version 330 core
// Per tile: the largest near-field and far-field CoC radius (full-res px) of its pixels, and the
// largest near radius still resolved by the full-res gather (below SLIGHT_END): how far the
// composite must look for slightly blurred foreground spilling over sharp pixels.
uniform sampler2D u_coc;
uniform int u_tile;

out vec3 f_tile;  // (near radius, far radius, slight near radius)

void main() {
    ivec2 size = textureSize(u_coc, 0);
    ivec2 base = ivec2(gl_FragCoord.xy) * u_tile;
    float near_max = 0.0;
    float far_max = 0.0;
    float slight_near_max = 0.0;
    for (int y = 0; y < u_tile; ++y) {
        for (int x = 0; x < u_tile; ++x) {
            float c = texelFetch(u_coc, min(base + ivec2(x, y), size - 1), 0).r;
            near_max = max(near_max, -c);
            far_max = max(far_max, c);
            if (-c < 2.0 * SLIGHT_END) {
                slight_near_max = max(slight_near_max, -c);
            }
        }
    }
    f_tile = 0.5 * vec3(near_max, far_max, slight_near_max);
}
