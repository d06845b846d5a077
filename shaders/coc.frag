#version 330 core
// Signed circle-of-confusion diameter in pixels (negative in front of the focus plane), from
// inverse depth: c = K * (1/S - 1/z), clamped to the renderer's largest CoC. See lens.py.
uniform sampler2D u_inv_depth;
uniform float u_coc_scale;   // K in px at the output width
uniform float u_inv_focus;   // 1/S in 1/m
uniform float u_max_coc;     // largest |CoC| diameter in px

in vec2 v_uv;
out float f_coc;

void main() {
    float w = texture(u_inv_depth, v_uv).r;
    f_coc = clamp(u_coc_scale * (u_inv_focus - w), -u_max_coc, u_max_coc);
}
