#version 330 core
// The image quad of the viewer pass: the rectangle u_rect (target px, top-left origin) as a
// triangle strip from gl_VertexID (draw 4 vertices, empty VAO). Only pixels whose centre lies in
// the image are shaded; v_uv runs 0..1 over the image with v = 0 at its first row.
uniform vec2 u_target_size;
uniform vec4 u_rect;    // x, y (top-left), w, h in target px
out vec2 v_uv;

void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1));
    v_uv = corner;
    vec2 p = u_rect.xy + corner * u_rect.zw;
    gl_Position = vec4(p.x / u_target_size.x * 2.0 - 1.0, 1.0 - p.y / u_target_size.y * 2.0,
                       0.0, 1.0);
}
