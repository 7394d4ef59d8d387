h=w.hearth||(()=>0);
w.plausible=h;
w.umami={track:(m,o)=>h(typeof m=="string"?m:"pageview",{props:o}),identify:()=>0};
w.goatcounter={count:o=>h(o?.event?o.path:"pageview")};
for(r of q)h(...r);
d.addEventListener("click",c,!0)
}(window,document,document.currentScript,location);
