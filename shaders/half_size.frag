#version 330 core
// The colour at half the size, each pixel the mean of its 2x2 block of linear light (the last
// row or column of an odd size repeats): the input of the preview's half-resolution depth of
// field, used while the picture moves and even the draft preset cannot keep up.
uniform sampler2D u_color;

out vec4 f_color;

void main() {
    ivec2 last = textureSize(u_color, 0) - 1;
    ivec2 p = 2 * ivec2(gl_FragCoord.xy);
    vec4 sum = texelFetch(u_color, min(p, last), 0)
             + texelFetch(u_color, min(p + ivec2(1, 0), last), 0)
             + texelFetch(u_color, min(p + ivec2(0, 1), last), 0)
             + texelFetch(u_color, min(p + ivec2(1, 1), last), 0);
    f_color = vec4(sum.rgb * 0.25, 1.0);
}
