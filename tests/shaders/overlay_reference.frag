#version 330 core
// TEST REFERENCE: shaders/overlay.frag as it was before the per-pass speed work (issue 14),
// kept so tests can show the cheaper pass gives the same pixels. Not used by the product.
// The viewer pass: places the image in the window (zoom, pan), A/B split (original left of the
// divider, result right of it) and the diagnostic overlays:
//   depth view      inverse depth as grey, near = white (replaces the picture)
//   CoC heat map    |CoC| diameter from black (in focus) through red to yellow (replaces it)
//   focus plane     tint: near red / in focus green / far blue (Nuke's "focal plane setup")
//   focus peaking   marks strong local contrast of the shown picture (sharp edges)
// Coordinates: p is the target pixel with a top-left origin; the image textures store the first
// image row at v = 0, so image space and p share the same y direction.

in vec2 v_uv;
out vec4 o_color;

uniform sampler2D u_result;     // RGBA8, display-encoded (DofRenderer.output)
uniform sampler2D u_original;   // the input colour: linear RGBA16F or display-encoded
uniform sampler2D u_inv_depth;  // R32F inverse depth, 1/m
uniform sampler2D u_coc;        // R16F signed CoC diameter in px (negative: in front)

uniform vec2 u_target_size;     // target framebuffer size, px
uniform vec4 u_rect;            // image rectangle in target px: x, y (top-left), w, h
uniform int u_flags;            // bit 0 depth, 1 focus plane, 2 peaking, 3 CoC heat map
uniform float u_split_x;        // divider x in target px; < 0: no split
uniform int u_original_linear;  // 1: u_original is linear light and needs encoding
uniform vec2 u_depth_range;     // inverse depth at the far and near ends of the grey ramp
uniform float u_in_focus_px;    // |CoC| diameter up to which a pixel counts as in focus
uniform float u_coc_max;        // CoC diameter at the top of the heat map
uniform float u_peak_threshold; // luma contrast (0..1) above which peaking marks an edge
uniform vec3 u_peak_color;
uniform vec3 u_background;

const int DEPTH = 1;
const int FOCUS_PLANE = 2;
const int PEAKING = 4;
const int COC = 8;

vec3 encode_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

vec3 fetch_shown(ivec2 t, bool original) {
    ivec2 size = textureSize(u_result, 0);
    t = clamp(t, ivec2(0), size - 1);
    if (original) {
        vec3 c = texelFetch(u_original, t * textureSize(u_original, 0) / size, 0).rgb;
        return u_original_linear == 1 ? encode_srgb(c) : c;
    }
    return texelFetch(u_result, t, 0).rgb;
}

float luma(vec3 c) { return dot(c, vec3(0.2126, 0.7152, 0.0722)); }

// Heat ramp: black -> deep red -> orange -> pale yellow (perceptually increasing).
vec3 heat(float x) {
    x = clamp(x, 0.0, 1.0);
    return clamp(vec3(3.0 * x, 3.0 * x - 1.0, 3.0 * x - 2.0), 0.0, 1.0) * 0.9
        + vec3(0.1 * x);
}

void main() {
    vec2 p = vec2(gl_FragCoord.x, u_target_size.y - gl_FragCoord.y);
    vec2 uv = (p - u_rect.xy) / u_rect.zw;
    if (any(lessThan(uv, vec2(0.0))) || any(greaterThanEqual(uv, vec2(1.0)))) {
        o_color = vec4(u_background, 1.0);
        return;
    }
    bool original = u_split_x >= 0.0 && p.x < u_split_x;
    vec3 c;
    if (original) {
        c = texture(u_original, uv).rgb;
        if (u_original_linear == 1) c = encode_srgb(c);
    } else {
        c = texture(u_result, uv).rgb;
    }

    float coc = texture(u_coc, uv).r;
    if ((u_flags & DEPTH) != 0) {
        float w = texture(u_inv_depth, uv).r;
        float d = (w - u_depth_range.x) / max(u_depth_range.y - u_depth_range.x, 1e-9);
        c = vec3(encode_srgb(vec3(clamp(d, 0.0, 1.0))));
    } else if ((u_flags & COC) != 0) {
        c = heat(abs(coc) / max(u_coc_max, 1e-6));
    }
    if ((u_flags & FOCUS_PLANE) != 0) {
        vec3 tint = abs(coc) <= u_in_focus_px ? vec3(0.1, 0.95, 0.2)
                  : (coc < 0.0 ? vec3(1.0, 0.15, 0.1) : vec3(0.15, 0.35, 1.0));
        // Keep the picture readable under the tint: tint modulated by its brightness.
        c = mix(c, tint * (0.35 + 0.65 * luma(c)), 0.55);
    }
    if ((u_flags & PEAKING) != 0) {
        // Sobel on the luma of what is shown, at image resolution.
        ivec2 t = ivec2(floor(uv * vec2(textureSize(u_result, 0))));
        float l[9];
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 3; i++)
                l[j * 3 + i] = luma(fetch_shown(t + ivec2(i - 1, j - 1), original));
        float gx = (l[2] + 2.0 * l[5] + l[8]) - (l[0] + 2.0 * l[3] + l[6]);
        float gy = (l[6] + 2.0 * l[7] + l[8]) - (l[0] + 2.0 * l[1] + l[2]);
        float g = length(vec2(gx, gy)) * 0.25;
        if (g > u_peak_threshold) c = u_peak_color;
    }
    o_color = vec4(c, 1.0);
}
