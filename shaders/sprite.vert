#version 330 core
// Six vertices (two triangles) per half-res texel, one draw (see sprites.py): a quad around the
// source's aperture image when the texel carries sprite light (sprite_detect.frag), else a
// degenerate quad that rasterises nothing.
#include "common.glsl"

uniform sampler2D u_sprites;       // excess rgb, signed CoC diameter (full-res px)
uniform sampler2D u_centroid;      // light-weighted centre of the texel's 2x2 block
uniform vec2 u_size;               // full-res output size
uniform float u_squeeze;
uniform vec3 u_axial_ca;           // per-channel CoC diameter offset (the widest sets the quad)

flat out vec3 v_energy;            // light of the source in full-res pixel units
flat out float v_radius;           // CoC radius, full-res px
flat out float v_coc;              // signed CoC diameter
flat out vec2 v_source;            // the source's position, full-res px
out vec2 v_offset;                 // this corner's offset from the source, full-res px

void main() {
    ivec2 half_size = textureSize(u_sprites, 0);
    int sprite = gl_VertexID / 6;
    ivec2 t = ivec2(sprite % half_size.x, sprite / half_size.x);
    vec4 s = texelFetch(u_sprites, t, 0);
    v_energy = 4.0 * s.rgb;        // one half-res texel stands for 2x2 full-res pixels
    v_coc = s.a;
    v_radius = 0.5 * s.a;
    v_source = vec2(0.0);
    if (dot(s.rgb, vec3(1.0)) <= 0.0) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);  // outside the clip volume: nothing drawn
        v_offset = vec2(0.0);
        return;
    }
    vec2 centre = vec2(t) * 2.0 + 1.0 + texelFetch(u_centroid, t, 0).rg;
    v_source = centre;
    int k = gl_VertexID % 6;
    k = k < 3 ? k : k - 2;  // two triangles: corners 0 1 2 and 1 2 3
    vec2 corner = vec2(float(k & 1), float(k >> 1)) * 2.0 - 1.0;
    // sprite.frag covers a pixel where its norm (never below its distance from the source: the
    // iris, a custom rim and the cat-eye all lie within the circle) is under the widest channel's
    // radius + 0.5, so the quad reaches that far (and a hair more), not a pixel further.
    float reach = v_radius + 0.5 * max(abs(u_axial_ca.r), abs(u_axial_ca.b)) + 0.51;
    vec2 extent = vec2(reach, reach * max(u_squeeze, 1.0));
    v_offset = corner * extent;
    gl_Position = vec4((centre + v_offset) / u_size * 2.0 - 1.0, 0.0, 1.0);
}
