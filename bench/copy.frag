#version 330 core
// A plain full-screen copy: the cost floor of one pass over the frame.
uniform sampler2D u_color;
out vec4 f_color;
void main() { f_color = texelFetch(u_color, ivec2(gl_FragCoord.xy), 0); }
