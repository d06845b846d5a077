#version 330 core
layout(points) in;
layout(triangle_strip, max_vertices = 4) out;
// One point per 2x2 block of half-res texels (sprites.py): a quad around the aperture images of
// the block's sprite sources (sprite_detect.frag), or nothing when the block has none. Sprites
// come in clusters (the texels of one light, the bright edge of a surface), so a quad per block
// shades and blends a pixel once for up to four discs that would each have drawn their own
// nearly equal quad. A geometry shader reads the block once; six vertices of a vertex-only
// quad each read it again, for every block of the frame (3.5 copies' time at 1080p, llvmpipe).
#include "common.glsl"
#include "aperture.glsl"

uniform sampler2D u_sprites;       // excess rgb, signed CoC diameter (full-res px)
uniform sampler2D u_centroid;      // light-weighted centre of the texel's 2x2 block
uniform vec2 u_size;               // full-res output size

// Per source of the block: light per unit of covered area (rgb; zero for a texel without a
// sprite) and signed CoC diameter; the sources' positions (full-res px), two per vec4.
flat out vec4 v_light[4];
flat out vec4 v_source[2];

void main() {
    ivec2 half_size = textureSize(u_sprites, 0);
    int blocks_x = (half_size.x + 1) / 2;
    int block = gl_PrimitiveIDIn;
    ivec2 base = ivec2(block % blocks_x, block / blocks_x) * 2;
    vec2 lo = vec2(1e9);
    vec2 hi = vec2(-1e9);
    vec2 sources[4];
    vec4 light[4];
    for (int k = 0; k < 4; ++k) {
        ivec2 t = base + ivec2(k & 1, k >> 1);
        vec4 s = all(lessThan(t, half_size)) ? texelFetch(u_sprites, t, 0) : vec4(0.0);
        vec2 centre = vec2(t) * 2.0 + 1.0 + texelFetch(u_centroid, min(t, half_size - 1), 0).rg;
        sources[k] = centre;
        light[k] = vec4(0.0, 0.0, 0.0, s.a);
        if (dot(s.rgb, vec3(1.0)) > 0.0) {
            // One half-res texel stands for 2x2 full-res pixels of light, spread over the
            // aperture image's area (per channel: axial CA sizes them apart).
            vec3 radius = channel_radius(s.a, 0.5);
            vec3 area = shape_area(centre) * max(radius * radius, vec3(0.25));
            light[k].rgb = 4.0 * s.rgb / area;
            // sprite.frag covers a pixel where its norm (never below its distance from the
            // source: the iris, a custom rim and the cat-eye all lie within the circle) is under
            // the widest channel's radius + 0.5, so the quad reaches that far (and a hair more).
            float reach = max(radius.r, max(radius.g, radius.b)) + 0.51;
            vec2 extent = vec2(reach, reach * max(u_squeeze, 1.0));
            lo = min(lo, centre - extent);
            hi = max(hi, centre + extent);
        }
    }
    if (hi.x < lo.x) {
        return;  // no sprite light in this block: nothing drawn
    }
    for (int c = 0; c < 4; ++c) {
        v_source[0] = vec4(sources[0], sources[1]);
        v_source[1] = vec4(sources[2], sources[3]);
        for (int k = 0; k < 4; ++k) {
            v_light[k] = light[k];
        }
        vec2 corner = mix(lo, hi, vec2(float(c & 1), float(c >> 1)));
        gl_Position = vec4(corner / u_size * 2.0 - 1.0, 0.0, 1.0);
        EmitVertex();
    }
    EndPrimitive();
}
