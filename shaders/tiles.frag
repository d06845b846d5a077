#version 330 core
// Per tile: the largest near-field and far-field CoC radius (full-res px) of its pixels.
uniform sampler2D u_coc;
uniform int u_tile;

out vec2 f_tile;  // (near radius, far radius)

void main() {
    ivec2 size = textureSize(u_coc, 0);
    ivec2 base = ivec2(gl_FragCoord.xy) * u_tile;
    float near_max = 0.0;
    float far_max = 0.0;
    for (int y = 0; y < u_tile; ++y) {
        for (int x = 0; x < u_tile; ++x) {
            float c = texelFetch(u_coc, min(base + ivec2(x, y), size - 1), 0).r;
            near_max = max(near_max, -c);
            far_max = max(far_max, c);
        }
    }
    f_tile = 0.5 * vec2(near_max, far_max);
}
