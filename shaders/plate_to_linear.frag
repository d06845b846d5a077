#version 330 core
// Image-sequence plates (and video with a named colour space) arrive as RGB float already in the
// scene-linear working space (converted through OCIO on the decoder thread). This pass only moves
// them into the RGBA16F colour texture, one texel per pixel: no curve, no clamp to 1.0. Values
// beyond half float's range are held at its largest finite value and NaN becomes 0, so one bad
// pixel cannot turn a whole bokeh gather into NaN.
uniform sampler2D u_plate;

out vec4 f_color;

const float HALF_MAX = 65504.0;

void main() {
    vec3 c = texelFetch(u_plate, ivec2(gl_FragCoord.xy), 0).rgb;
    c = mix(c, vec3(0.0), bvec3(isnan(c.r), isnan(c.g), isnan(c.b)));
    f_color = vec4(clamp(c, -HALF_MAX, HALF_MAX), 1.0);
}
