// Aperture shape: circle or N-blade polygon with rotation, anamorphic vertical stretch.
uniform int u_blades;            // 0 = circular, else 3..16
uniform float u_blade_rotation;  // radians
uniform float u_squeeze;         // vertical stretch of the bokeh (anamorphic squeeze)

// Compile-time aperture variant: 0 off, 1 on, -1 (the default) chosen at run time by the
// uniforms. A software rasteriser (llvmpipe) masks the lanes of an `if` rather than branching,
// so it runs code behind a uniform switch that no pixel takes: the gathers paid for the polygon,
// the custom rim and the cat-eye on every sample of a round aperture, half their time. The DOF
// renderer compiles one program set per variant in use (dof.py, ``aperture_variant``).
#ifndef POLYGON_APERTURE
#define POLYGON_APERTURE -1      // blades (u_blades >= 3) rather than a circle
#endif
#ifndef RIM_IMAGE
#define RIM_IMAGE -1             // a custom aperture image's rim (u_rim_bins > 0)
#endif
#ifndef CAT_EYE
#define CAT_EYE -1               // optical vignetting (u_cat_eye > 0)
#endif
#ifndef AXIAL_CA
#define AXIAL_CA -1              // axial chromatic aberration (u_axial_ca != 0)
#endif
// shape_norm is then the squeezed distance itself: a gather takes it from its sample pattern.
#define ROUND_APERTURE (POLYGON_APERTURE == 0 && RIM_IMAGE == 0 && CAT_EYE == 0)

// The aperture "radius" at which offset v lies on the rim: v is inside an aperture of
// circumradius r exactly when aperture_norm(v) <= r.
float aperture_norm(vec2 v) {
    v.y /= u_squeeze;
    float r = length(v);
#if POLYGON_APERTURE == 0
    return r;
#else
#if POLYGON_APERTURE < 0
    if (u_blades < 3) {
        return r;
    }
#endif
    float seg = 2.0 * PI / float(u_blades);
    float a = atan(v.y, v.x) - u_blade_rotation;
    // Angle from the nearest edge midpoint (apothem direction); vertices sit at multiples of seg.
    float local = mod(a, seg) - 0.5 * seg;
    return r * cos(local) / cos(0.5 * seg);
#endif
}

// Area of an aperture of circumradius 1 (px^2 per px^2 of radius squared).
float aperture_area_factor() {
#if POLYGON_APERTURE == 0
    float base = PI;
#elif POLYGON_APERTURE > 0
    float base = 0.5 * float(u_blades) * sin(2.0 * PI / float(u_blades));
#else
    float base = u_blades < 3
        ? PI
        : 0.5 * float(u_blades) * sin(2.0 * PI / float(u_blades));
#endif
    return base * u_squeeze;
}

// -- Lens character (each off by default; see rackfocus_live/lens_character.py, the numpy twin).
#ifndef RIM_BINS
#define RIM_BINS 64
#endif
uniform float u_cat_eye;           // optical vignetting strength at the frame corner, 0 = off
uniform vec2 u_frame_centre;       // full-res px
uniform float u_frame_radius;      // half the frame diagonal, full-res px
uniform int u_rim_bins;            // 0: blades/circle; else a custom aperture image's rim
uniform float u_rim[RIM_BINS];     // rim radius per angle (largest 1), counter-clockwise from +x
uniform float u_rim_area;          // area of that shape at circumradius 1
uniform vec3 u_axial_ca;           // per-channel CoC diameter offset, full-res px (0 = off)

// The aperture's own shape: a custom image's rim when one is set, else blades or a circle.
float iris_norm(vec2 v) {
#if RIM_IMAGE == 0
    return aperture_norm(v);
#else
#if RIM_IMAGE < 0
    if (u_rim_bins <= 0) {
        return aperture_norm(v);
    }
#endif
    v.y /= u_squeeze;
    float a = atan(v.y, v.x) - u_blade_rotation;
    float x = fract(a / (2.0 * PI)) * float(u_rim_bins);
    int i = int(x) % u_rim_bins;
    float rim = mix(u_rim[i], u_rim[(i + 1) % u_rim_bins], fract(x));
    return length(v) / max(rim, 1e-3);
#endif
}

// Cat-eye: towards the frame edges the lens barrel clips the aperture; the bokeh of a source
// becomes the intersection of the aperture with a second disc of the same size shifted outward
// by u_cat_eye * (distance from centre / half diagonal) of its radius (capped at 0.9).
vec2 cat_eye_shift(vec2 source_px) {
    vec2 s = u_cat_eye * (source_px - u_frame_centre) / u_frame_radius;
    float len = length(s);
    return len > 0.9 ? s * (0.9 / len) : s;
}

// The radius at which offset v lies on the rim of the source's bokeh (iris and, with cat-eye,
// the shifted disc): v is inside a bokeh of circumradius r exactly when shape_norm <= r.
float shape_norm(vec2 v, vec2 source_px) {
    float n = iris_norm(v);
#if CAT_EYE != 0
#if CAT_EYE < 0
    if (u_cat_eye > 0.0) {
#endif
        // |w - r s| = r solved for r (w, s in the unsqueezed frame).
        vec2 w = vec2(v.x, v.y / u_squeeze);
        vec2 s = cat_eye_shift(source_px);
        float ws = dot(w, s);
        float k = 1.0 - dot(s, s);
        n = max(n, (sqrt(ws * ws + k * dot(w, w)) - ws) / k);
#if CAT_EYE < 0
    }
#endif
#endif
    return n;
}

// Area of the source's bokeh at circumradius 1 (the cat-eye cut taken as the fraction of a
// disc that two unit discs d apart share).
float shape_area(vec2 source_px) {
#if RIM_IMAGE == 0
    float base = aperture_area_factor();
#elif RIM_IMAGE > 0
    float base = u_rim_area * u_squeeze;
#else
    float base = u_rim_bins > 0 ? u_rim_area * u_squeeze : aperture_area_factor();
#endif
#if CAT_EYE != 0
#if CAT_EYE < 0
    if (u_cat_eye > 0.0) {
#endif
        float d = length(cat_eye_shift(source_px));
        base *= (2.0 * acos(0.5 * d) - 0.5 * d * sqrt(4.0 - d * d)) / PI;
#if CAT_EYE < 0
    }
#endif
#endif
    return base;
}

// Per-channel CoC radius: axial chromatic aberration focuses red and blue at slightly different
// distances, so their CoCs differ by a constant diameter: opposite fringes in front of and
// behind the focus plane. scale converts a full-res diameter to the caller's radius units.
vec3 channel_radius(float coc, float scale) {
#if AXIAL_CA == 0
    return vec3(abs(coc) * scale);
#else
    return abs(vec3(coc) + u_axial_ca) * scale;
#endif
}
